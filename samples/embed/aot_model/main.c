/* A C program that uses a trained model through an ahead-of-time nabla library: the softmax
 * regression of samples/softmax_iris.nabla, compiled by
 *
 *   nabla compile samples/softmax_iris.nabla -o libiris.so --header iris.h
 *
 * and trained by `nabla fit ... -o params.json`. It reads the trained params from the params
 * file and the rows of a CSV file, and prints the mean loss over the rows with the library's
 * nabla_objective_batch (what `nabla fit` printed as its final loss), the gradient's norm, and
 * the loss of the first rows one at a time with nabla_objective.
 *
 *   aot_model PARAMS.json DATA.csv
 *
 * The CSV's columns are the model's inputs in declaration order (x[0..3], then species), after
 * one header line. build.sh builds it; scripts/run.sh runs it. */
#include "iris.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P NABLA_IRIS_NUM_PARAMS
#define I NABLA_IRIS_NUM_INPUTS

/* The whole of a file of at most 64 MiB, NUL-terminated, or NULL. */
static char *readFile(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *text = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size <= (64L << 20) &&
      fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL &&
      fread(text, 1, (size_t)size, f) == (size_t)size) {
    text[size] = '\0';
  } else {
    free(text);
    text = NULL;
  }
  fclose(f);
  return text;
}

/* The numbers of the "params" object of a file written by `nabla fit -o`, in order (the params'
 * declaration order, arrays row-major): how many were read, at most max. */
static size_t readParams(const char *text, double *params, size_t max) {
  const char *at = strstr(text, "\"params\"");
  if (!at || !(at = strchr(at, '{'))) return 0;
  size_t count = 0;
  int depth = 0;
  for (; *at; ++at) {
    if (*at == '{') ++depth;
    if (*at == '}' && --depth == 0) break;
    if (*at == '-' || (*at >= '0' && *at <= '9')) {
      char *end;
      const double v = strtod(at, &end);
      if (count < max) params[count] = v;
      ++count;
      at = end - 1;
    } else if (*at == '"' && depth >= 1) { /* a name: skip it */
      const char *close = strchr(at + 1, '"');
      if (!close) return 0;
      at = close;
    }
  }
  return count;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PARAMS.json DATA.csv\n", argv[0]);
    return 2;
  }
  double params[P];
  char *json = readFile(argv[1]);
  if (!json) return fprintf(stderr, "cannot read %s\n", argv[1]), 1;
  const size_t found = readParams(json, params, P);
  free(json);
  if (found != P)
    return fprintf(stderr, "%s: %zu params, the model has %d\n", argv[1], found, P), 1;

  char *csv = readFile(argv[2]);
  if (!csv) return fprintf(stderr, "cannot read %s\n", argv[2]), 1;
  size_t rows = 0, cap = 256;
  double *columns[I];
  for (int k = 0; k < I; ++k) columns[k] = malloc(cap * sizeof(double));
  char *line = strchr(csv, '\n'); /* after the header */
  while (line && *++line) {
    if (rows == cap) {
      cap *= 2;
      for (int k = 0; k < I; ++k)
        if (!(columns[k] = realloc(columns[k], cap * sizeof(double))))
          return fprintf(stderr, "out of memory\n"), 1;
    }
    char *p = line;
    for (int k = 0; k < I; ++k) {
      columns[k][rows] = strtod(p, &p);
      if (k + 1 < I && *p++ != ',')
        return fprintf(stderr, "%s: row %zu has fewer than %d columns\n", argv[2], rows + 2, I), 1;
    }
    ++rows;
    line = strchr(p, '\n');
  }
  free(csv);
  if (rows == 0) return fprintf(stderr, "%s: no rows\n", argv[2]), 1;

  double grad[P], norm = 0;
  const double mean = nabla_objective_batch(params, rows, (const double *const *)columns, grad);
  for (int i = 0; i < P; ++i) norm += grad[i] * grad[i];
  printf("libiris.so: %d params from %s, %zu rows from %s\n", P, argv[1], rows, argv[2]);
  printf("mean loss over %zu rows: %.6g (gradient norm %.3g)\n", rows, mean, sqrt(norm));
  for (size_t r = 0; r < 3 && r < rows; ++r) {
    double inputs[I];
    for (int k = 0; k < I; ++k) inputs[k] = columns[k][r];
    printf("row %zu: loss %.6g\n", r + 1, nabla_objective(params, inputs, NULL));
  }
  for (int k = 0; k < I; ++k) free(columns[k]);
  return 0;
}
