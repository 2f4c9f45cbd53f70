/* Times a library's nabla_objective_batch (`nabla compile`, docs/aot.md) over batches of rows of
 * random data: the value and gradient that a training step needs, one batch after another.
 *   mlp_host LIBRARY ROWS BATCH REPEATS
 * Prints the library's level (from nabla_module_info) and rows/s, the best of REPEATS passes over
 * the rows. Built by bench/aot_array.sh. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef double (*batch_fn)(const double *, size_t, const double *const *, double *);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The integer after `"key": ` in the module description, or -1. */
static long field(const char *info, const char *key) {
  const char *at = strstr(info, key);
  return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s LIBRARY ROWS BATCH REPEATS\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  batch_fn batch = (batch_fn)dlsym(lib, "nabla_objective_batch");
  const char *(*info)(void) = (const char *(*)(void))dlsym(lib, "nabla_module_info");
  if (!batch || !info) {
    fprintf(stderr, "%s: not a library with an objective\n", argv[1]);
    return 1;
  }
  const char *text = info();
  const long P = field(text, "\"num_params\":"), I = field(text, "\"num_inputs\":");
  const size_t rows = (size_t)atol(argv[2]), size = (size_t)atol(argv[3]);
  const int repeats = atoi(argv[4]);
  if (P < 0 || I < 1 || rows == 0 || size == 0 || repeats < 1) {
    fprintf(stderr, "bad arguments or module description\n");
    return 2;
  }
  srand(1);
  double *params = malloc((size_t)P * sizeof(double)), *grad = malloc((size_t)P * sizeof(double));
  double *data = malloc((size_t)I * rows * sizeof(double));
  const double **columns = malloc((size_t)I * sizeof(double *));
  for (long i = 0; i < P; ++i) params[i] = 0.05 * (2.0 * rand() / RAND_MAX - 1);
  for (long k = 0; k < I; ++k) {
    for (size_t r = 0; r < rows; ++r)
      data[(size_t)k * rows + r] = k == I - 1 ? (double)(rand() % 10) : (double)rand() / RAND_MAX;
  }
  double best = 1e300, sink = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    const double start = now();
    for (size_t at = 0; at + size <= rows; at += size) {
      for (long k = 0; k < I; ++k) columns[k] = data + (size_t)k * rows + at;
      sink += batch(params, size, columns, grad);
    }
    const double t = now() - start;
    if (t < best) best = t;
  }
  const size_t done = rows / size * size;
  printf("%s: level %s, %ld params, batches of %zu: %.3g rows/s (%.1f us per batch; loss %.4g)\n",
         argv[1], strstr(text, "\"level\":\"array\"") ? "array" : "scalar", P, size,
         (double)done / best, 1e6 * best / (double)(rows / size), sink / repeats / (double)(rows / size));
  return 0;
}
