/* nabla's C embedding API: compile nabla text at run time into native code and call its value,
   gradient and Hessian. Plain C89 types only, so that any language with a C FFI (Python's ctypes
   included) can use it.

     nabla_module *m;
     nabla_function *f;
     double x[2] = {0.5, -0.5}, value, grad[2];
     if (nabla_compile("f(x, y) = (x^2 + y)^2 * (y - x*y)", NULL, &m) != NABLA_OK) {
       fprintf(stderr, "%s", nabla_last_error());
       return 1;
     }
     nabla_module_function(m, "f", &f);
     nabla_grad(f, x, 2, &value, grad);
     nabla_function_free(f);
     nabla_module_free(m);

   Status: every call that can fail returns a nabla_status; on failure the message (for bad text,
   the compiler's `file:line:col: error: ...` diagnostics) is kept per thread and read with
   nabla_last_error(). No C++ exception ever leaves these functions.

   Ownership: nabla_compile*, nabla_module_function and nabla_module_objective hand out handles
   that the caller frees (nabla_module_free, nabla_function_free, nabla_objective_free; NULL is
   allowed). A function or objective handle keeps its code alive by itself: it stays valid after
   its module is freed. Strings returned by the library
   stay valid as long as the handle they came from.

   Threads: calls on handles are thread-safe (compiled code keeps no state; handles do not change
   after they are made), and modules may be compiled on several threads at once. */
#ifndef NABLA_H
#define NABLA_H

#include "nabla/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nabla_status {
  NABLA_OK = 0,
  NABLA_ERROR_COMPILE = 1,     /* the text has errors: nabla_last_error() has the diagnostics */
  NABLA_ERROR_IO = 2,          /* a file that cannot be read */
  NABLA_ERROR_NOT_FOUND = 3,   /* no function of that name */
  NABLA_ERROR_ARGUMENT = 4,    /* a NULL pointer, the wrong number of arguments, a bad option */
  NABLA_ERROR_UNAVAILABLE = 5, /* a Hessian (or H v) of a module compiled without them */
  NABLA_ERROR_MEMORY = 6,      /* out of memory */
  NABLA_ERROR_INTERNAL = 7     /* a failure inside LLVM or a bug in nabla */
} nabla_status;

typedef struct nabla_module nabla_module;
typedef struct nabla_function nabla_function;

/* Compile options; start from nabla_options_default(). */
typedef struct nabla_options {
  int opt_level; /* LLVM optimization level 0..3 (default 2) */
  int fast_math; /* nonzero: LLVM's fast-math flags; 0 (default): IEEE arithmetic */
  int hessian;   /* nonzero (default): also compile the Hessians */
  int simplify;  /* nonzero (default): simplify functions and derivatives */
  /* Limits for untrusted text; 0 keeps nabla's default (16 MiB, 256 levels, 4M nodes, 1M
     elements). Text beyond one is a NABLA_ERROR_COMPILE whose message names the limit. */
  size_t max_source_bytes; /* largest text accepted, in bytes */
  unsigned max_nesting;    /* deepest nesting of parentheses and brackets */
  size_t max_nodes;        /* largest graph built (the Hessian's entries and sweeps too) */
  size_t max_array;        /* most elements of one array */
  int hvp; /* nonzero (default): also compile the Hessian-vector products (nabla_hvp) */
} nabla_options;

NABLA_API nabla_options nabla_options_default(void);

/* The library's version, "0.1.0". */
NABLA_API const char *nabla_version(void);

/* The message of this thread's last failed call ("" if none failed yet). Valid until the next
   failing call on this thread. */
NABLA_API const char *nabla_last_error(void);

/* Compiles NUL-terminated text: a bare expression (one function named "f" whose arguments are its
   free variables in order of first appearance) or a program. `options` may be NULL (defaults).
   On success *out is a new module; on failure *out is NULL. */
NABLA_API nabla_status nabla_compile(const char *text, const nabla_options *options,
                                     nabla_module **out);
/* Compiles a .nabla program file. */
NABLA_API nabla_status nabla_compile_file(const char *path, const nabla_options *options,
                                          nabla_module **out);
NABLA_API void nabla_module_free(nabla_module *module);

/* The module's scalar functions, in declaration order; NULL when index is out of range. */
NABLA_API size_t nabla_module_function_count(const nabla_module *module);
NABLA_API const char *nabla_module_function_name(const nabla_module *module, size_t index);

/* Looks a function up by name. On success *out is a new handle; NABLA_ERROR_NOT_FOUND names the
   functions there are. */
NABLA_API nabla_status nabla_module_function(const nabla_module *module, const char *name,
                                             nabla_function **out);
NABLA_API void nabla_function_free(nabla_function *function);

NABLA_API const char *nabla_function_name(const nabla_function *function);
/* The number of scalar arguments (arrays flattened, row-major); 0 for NULL. */
NABLA_API size_t nabla_function_arity(const nabla_function *function);
/* The name of argument `index` ("x", "w[2]"); NULL when out of range. */
NABLA_API const char *nabla_function_arg_name(const nabla_function *function, size_t index);
NABLA_API int nabla_function_has_hessian(const nabla_function *function);

/* `nargs` must equal the arity (NABLA_ERROR_ARGUMENT otherwise). */
NABLA_API nabla_status nabla_eval(const nabla_function *function, const double *args,
                                  size_t nargs, double *value);
/* The value and the gradient (arity entries) in one call. */
NABLA_API nabla_status nabla_grad(const nabla_function *function, const double *args,
                                  size_t nargs, double *value, double *grad);
/* The Hessian: arity x arity entries, row-major. */
NABLA_API nabla_status nabla_hessian(const nabla_function *function, const double *args,
                                     size_t nargs, double *hess);
/* H v: the Hessian at `args` times v (nargs doubles each) into out (nargs doubles), without
   forming the Hessian; a few times the gradient's cost. NABLA_ERROR_UNAVAILABLE when the module
   was compiled with `hvp` off. */
NABLA_API nabla_status nabla_hvp(const nabla_function *function, const double *args, size_t nargs,
                                 const double *v, double *out);

/* Vectorized: n points at once, several per SIMD instruction and, for large n, over threads.
   With by_column 0 the points are row-major, n x arity (argument c of point r at
   points[r * arity + c]), and so are the results: grads n x arity, hess n x arity x arity. With
   by_column 1 argument c of point r is at points[c * n + r], gradient entry i at
   grads[i * n + r] and Hessian entry (i, j) at hess[(i * arity + j) * n + r]. Results do not
   depend on n or on the threads; they equal the one-point calls' to an ulp or so (glibc's
   vector math rounds exp, log, sin, pow, ... its own way). The first call of each kind compiles
   its vectorized code. The outputs must not overlap the points. */
NABLA_API nabla_status nabla_eval_batch(const nabla_function *function, size_t n,
                                        const double *points, int by_column, double *values);
NABLA_API nabla_status nabla_grad_batch(const nabla_function *function, size_t n,
                                        const double *points, int by_column, double *values,
                                        double *grads);
NABLA_API nabla_status nabla_hessian_batch(const nabla_function *function, size_t n,
                                           const double *points, int by_column, double *hess);

/* --- The objective ---------------------------------------------------------------------------
   A program's `minimize` or `maximize`: a per-row loss over the params (what an optimizer
   changes) and the inputs (one value per data row), both flattened row-major in declaration
   order. The value is the expression as written (an optimizer negates it for maximize). A model
   with large arrays runs at the array level (BLAS), as `nabla fit` runs it, when compiled with
   `hessian` off.

     nabla_objective *L;
     nabla_module_objective(m, &L);
     size_t P = nabla_objective_param_count(L);
     nabla_objective_batch(L, params, P, n, columns, nabla_objective_input_count(L), &loss, grad);
     nabla_objective_batch_sums(L, params, P, begin, end, columns, I, sums);
     nabla_objective_free(L); */
typedef struct nabla_objective nabla_objective;

NABLA_API int nabla_module_has_objective(const nabla_module *module);
/* On success *out is a new handle (it keeps its code alive, as a function handle does);
   NABLA_ERROR_NOT_FOUND when the program has no objective. */
NABLA_API nabla_status nabla_module_objective(const nabla_module *module, nabla_objective **out);
NABLA_API void nabla_objective_free(nabla_objective *objective);

/* Scalars, all params (inputs) together; 0 for NULL. */
NABLA_API size_t nabla_objective_param_count(const nabla_objective *objective);
NABLA_API size_t nabla_objective_input_count(const nabla_objective *objective);
/* The name of scalar param (input) `index` ("w[2]"); NULL when out of range. */
NABLA_API const char *nabla_objective_param_name(const nabla_objective *objective, size_t index);
NABLA_API const char *nabla_objective_input_name(const nabla_objective *objective, size_t index);
/* 1 for `maximize`, 0 for `minimize` (or NULL). */
NABLA_API int nabla_objective_maximize(const nabla_objective *objective);
NABLA_API int nabla_objective_has_hessian(const nabla_objective *objective);

/* One row: the loss at `params` (nparams = the param count) and `inputs` (ninputs = the input
   count; NULL with 0 for a program without inputs), and its gradient over the params (param
   count entries; grad may be NULL for the value alone). */
NABLA_API nabla_status nabla_objective_value_grad(const nabla_objective *objective,
                                                  const double *params, size_t nparams,
                                                  const double *inputs, size_t ninputs,
                                                  double *value, double *grad);
/* One row: the Hessian over the params, param count x param count, row-major. */
NABLA_API nabla_status nabla_objective_hessian(const nabla_objective *objective,
                                               const double *params, size_t nparams,
                                               const double *inputs, size_t ninputs,
                                               double *hess);
/* One row: H v, the Hessian over the params times v (param count doubles each), into out. */
NABLA_API nabla_status nabla_objective_hvp(const nabla_objective *objective, const double *params,
                                           size_t nparams, const double *inputs, size_t ninputs,
                                           const double *v, double *out);
/* The mean of H v over a batch of n >= 1 rows of `columns` (as nabla_objective_batch). */
NABLA_API nabla_status nabla_objective_hvp_batch(const nabla_objective *objective,
                                                 const double *params, size_t nparams,
                                                 const double *v, size_t n,
                                                 const double *const *columns, size_t ncolumns,
                                                 double *out);
/* A batch of n >= 1 rows: the mean loss and the mean gradient over the params (grad may be NULL
   for the mean alone). columns: ncolumns = the input count pointers, one per scalar input in
   order, each to n doubles (row r of input k is columns[k][r]). */
NABLA_API nabla_status nabla_objective_batch(const nabla_objective *objective,
                                             const double *params, size_t nparams, size_t n,
                                             const double *const *columns, size_t ncolumns,
                                             double *value, double *grad);
/* The sums, not the means, over rows begin <= r < end of the same columns: sums[0] of the loss,
   sums[1 + i] of gradient entry i (1 + param count doubles). A host that splits its rows over
   threads or processes adds the sums and divides by the row count. */
NABLA_API nabla_status nabla_objective_batch_sums(const nabla_objective *objective,
                                                  const double *params, size_t nparams,
                                                  size_t begin, size_t end,
                                                  const double *const *columns, size_t ncolumns,
                                                  double *sums);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_H */
