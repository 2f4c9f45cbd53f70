// The batched objective call behind nabla::Objective::batch: the mean loss and mean gradient over
// rows of data. For now a loop over the compiled one-row function; this is the one place where the
// SIMD batched kernel of compiler/jit will take over.
#pragma once

#include "jit/compiled_function.h"

#include <cstddef>
#include <span>

namespace nabla::api {

/// `row` computes one row's loss and its gradient over its first `params.size()` arguments (the
/// params); its remaining arguments are the inputs, `columns.size()` of them, input k of row r being
/// columns[k][r]. Returns the mean loss over the n rows and writes the mean gradient to `grad`.
/// Sizes are checked by the caller; n >= 1.
double meanLossAndGrad(const jit::CompiledFunction &row, std::span<const double> params,
                       std::size_t n, std::span<const double *const> columns,
                       std::span<double> grad);

}  // namespace nabla::api
