// Learning-rate schedules (include/nabla/optim.hpp): the closed forms of torch's StepLR and
// CosineAnnealingLR, 1/sqrt(k + 1), and the constant rate.
#include "optim/optimizer.h"

#include <charconv>
#include <cmath>
#include <numbers>

namespace nabla::optim {

double Schedule::rate(double base, std::size_t k, std::size_t epoch) const {
  switch (kind) {
  case Kind::Constant: return base;
  case Kind::InvSqrt: return base / std::sqrt(static_cast<double>(k) + 1);
  case Kind::Step:
    if (step_size == 0) detail::fail("the step schedule needs a step size of at least 1 epoch");
    return base * std::pow(gamma, static_cast<double>(epoch / step_size));
  case Kind::Cosine:
    if (total == 0) detail::fail("the cosine schedule needs the number of steps of the run (total)");
    return eta_min + (base - eta_min) *
                         (1 + std::cos(std::numbers::pi * static_cast<double>(k) /
                                       static_cast<double>(total))) /
                         2;
  }
  return base;
}

namespace {

const char *const kSchedules = "constant, inv_sqrt, step[:N[:GAMMA]], cosine[:ETA_MIN]";

[[noreturn]] void badSchedule(std::string_view text, const std::string &why) {
  detail::fail("invalid schedule '" + std::string(text) + "': " + why + " (the schedules are " +
               kSchedules + ")");
}

double number(std::string_view text, std::string_view field, std::string_view what) {
  double v = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size() || !std::isfinite(v))
    badSchedule(text, std::string(what) + " '" + std::string(field) + "' is not a finite number");
  return v;
}

}  // namespace

Schedule parse_schedule(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  Schedule s;
  const std::string_view kind = parts[0];
  auto arguments = [&](std::size_t most) {
    if (parts.size() - 1 > most)
      badSchedule(text, std::string(kind) + " takes at most " + std::to_string(most) +
                            (most == 1 ? " argument" : " arguments"));
  };
  if (kind == "constant" || kind == "inv_sqrt") {
    arguments(0);
    s.kind = kind == "constant" ? Schedule::Kind::Constant : Schedule::Kind::InvSqrt;
  } else if (kind == "step") {
    arguments(2);
    s.kind = Schedule::Kind::Step;
    if (parts.size() > 1) {
      const std::string_view n = parts[1];
      std::size_t v = 0;
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
      if (n.empty() || ec != std::errc() || end != n.data() + n.size() || v == 0)
        badSchedule(text, "the step size '" + std::string(n) + "' is not a whole number of epochs >= 1");
      s.step_size = v;
    }
    if (parts.size() > 2) {
      s.gamma = number(text, parts[2], "the factor");
      if (!(s.gamma > 0)) badSchedule(text, "the factor must be > 0");
    }
  } else if (kind == "cosine") {
    arguments(1);
    s.kind = Schedule::Kind::Cosine;
    if (parts.size() > 1) {
      s.eta_min = number(text, parts[1], "the final rate");
      if (!(s.eta_min >= 0)) badSchedule(text, "the final rate must be >= 0");
    }
  } else {
    detail::fail("unknown schedule '" + std::string(text) + "'; the schedules are " + kSchedules);
  }
  return s;
}

}  // namespace nabla::optim
