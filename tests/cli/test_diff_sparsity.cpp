// `nabla diff --sparsity`: the Hessian's sparsity pattern as a picture, a summary with its first
// rows, and JSON in compressed rows; for a file's functions (scalar level) and its objective (the
// array level, bodies never unrolled); --wrt; and the usage errors.
#include "support/process.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using nabla::test::ProcessResult;
using nabla::test::runNabla;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string &contents) {
    char name[] = "/tmp/nabla-sparsity-XXXXXX.nabla";
    const int fd = mkstemps(name, 6);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::vector<std::int64_t> integers(const llvm::json::Value *v) {
  REQUIRE(v);
  REQUIRE(v->getAsArray());
  std::vector<std::int64_t> out;
  for (const llvm::json::Value &x : *v->getAsArray()) {
    REQUIRE(x.getAsInteger());
    out.push_back(*x.getAsInteger());
  }
  return out;
}

}  // namespace

TEST_CASE("diff --sparsity: a picture of x*y + z^2", "[cli][sparsity]") {
  ProcessResult r = runNabla({"diff", "x*y + z^2", "--sparsity"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out ==
        "∂²f: 3 × 3, 3 nonzeros (33%)\n"
        "  x  . x .\n"
        "  y  x . .\n"
        "  z  . . x\n");
  // --hessian with it is the same; --wrt orders the rows.
  CHECK(runNabla({"diff", "x*y + z^2", "--hessian", "--sparsity"}).out == r.out);
  CHECK(runNabla({"diff", "x*y + z^2", "--sparsity", "--wrt", "z,x"}).out ==
        "∂²f: 2 × 2, 1 nonzero (25%)\n"
        "  z  x .\n"
        "  x  . .\n");
}

TEST_CASE("diff --sparsity --json parses, in compressed rows", "[cli][sparsity]") {
  ProcessResult r = runNabla({"diff", "x*y + z^2", "--sparsity", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(r.out);
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Object *o = parsed->getAsObject();
  REQUIRE(o);
  CHECK(o->getInteger("n") == 3);
  CHECK(o->getInteger("nonzeros") == 3);
  CHECK(integers(o->get("row_start")) == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(integers(o->get("columns")) == std::vector<std::int64_t>{1, 0, 2});
  REQUIRE(o->getArray("vars"));
  CHECK(o->getArray("vars")->size() == 3);
}

TEST_CASE("diff --sparsity of a file: functions and the objective", "[cli][sparsity]") {
  TempFile model("f(x, y) = x*y + sin(y)\n"
                 "param w[3]\n"
                 "minimize sum(w^2) + w[0]*w[2]\n");
  ProcessResult r = runNabla({"diff", model.path, "--sparsity"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out ==
        "∂²f: 2 × 2, 3 nonzeros (75%)\n"
        "  x  . x\n"
        "  y  x x\n"
        "\n"
        "∂²L: 3 × 3, 5 nonzeros (56%)\n"
        "  w[0]  x . x\n"
        "  w[1]  . x .\n"
        "  w[2]  x . x\n");
  // The objective alone, from the array level: the same pattern.
  ProcessResult objective = runNabla({"diff", model.path, "--sparsity", "--fn", "L"});
  CHECK(objective.out == r.out.substr(r.out.find("∂²L")));
  ProcessResult json = runNabla({"diff", model.path, "--sparsity", "--json"});
  auto parsed = llvm::json::parse(json.out);
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Object *l = parsed->getAsObject()->getObject("L");
  REQUIRE(l);
  CHECK(integers(l->get("row_start")) == std::vector<std::int64_t>{0, 2, 3, 5});
  CHECK(integers(l->get("columns")) == std::vector<std::int64_t>{0, 2, 1, 0, 2});
}

TEST_CASE("diff --sparsity of a large objective: a summary and the first rows", "[cli][sparsity]") {
  TempFile model("const n = 100000\nparam x[n] = -1.2\n"
                 "minimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n");
  ProcessResult r = runNabla({"diff", model.path, "--sparsity"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.rfind("∂²L: 100000 × 100000, 299998 nonzeros (0.003%), at most 3 in a row, "
                    "bandwidth 1\n"
                    "  x[0]: x[0] x[1]\n"
                    "  x[1]: x[0] x[1] x[2]\n",
                    0) == 0);
  CHECK(r.out.find("  ... 99990 more rows\n") != std::string::npos);
}

TEST_CASE("diff --sparsity: usage", "[cli][sparsity]") {
  TempFile model("param w[3]\nminimize sum(w^2)\n");
  ProcessResult r = runNabla({"diff", model.path, "--matrix", "--sparsity"});
  CHECK(r.exitCode == 2);
  CHECK(r.err.find("--sparsity") != std::string::npos);
  CHECK(runNabla({"eval", "x", "--at", "x=1", "--sparsity"}).exitCode == 2);
}

TEST_CASE("diff --sparsity: a dense Hessian of 10^4 params is beyond the limit", "[cli][sparsity]") {
  TempFile model("param x[10000]\nminimize sum(x)^2\n");
  ProcessResult r = runNabla({"diff", model.path, "--sparsity"});
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("has more than 33554432 pairs of variables, or its sweep meets more than "
                   "268435456 (raise the limit with --max-nodes)") != std::string::npos);
  CHECK(r.out.empty());
}
