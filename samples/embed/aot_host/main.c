/* A C program that uses an ahead-of-time nabla library through its generated header: the seed
 * function f(x, y) = (x^2 + y)^2 * (y - x*y) of samples/seed.nabla, compiled by
 *
 *   nabla compile samples/seed.nabla -o libseed.so --header seed.h
 *
 * Prints the value, the gradient and the Hessian at a point (x, y), by default (0.5, -0.5).
 * build.sh builds it; README.md explains the steps. */
#include "seed.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  double x = 0.5, y = -0.5;
  double grad[2], hess[4];
  double value, fused;
  char *end;

  if (argc == 3) {
    x = strtod(argv[1], &end);
    if (*end != '\0') return fprintf(stderr, "not a number: %s\n", argv[1]), 2;
    y = strtod(argv[2], &end);
    if (*end != '\0') return fprintf(stderr, "not a number: %s\n", argv[2]), 2;
  } else if (argc != 1) {
    fprintf(stderr, "usage: %s [X Y]\n", argv[0]);
    return 2;
  }

  value = f(x, y);
  fused = f_grad(x, y, grad); /* the value again, with the gradient in the same pass */
  f_hess(x, y, hess);         /* row-major: hess[2*i + j] */
  if (fused != value) {
    fprintf(stderr, "f and f_grad disagree: %.17g != %.17g\n", value, fused);
    return 1;
  }

  /* %.17g prints every double so that it reads back exactly. */
  printf("f(%.17g, %.17g) = %.17g\n", x, y, value);
  printf("df/dx = %.17g\n", grad[0]);
  printf("df/dy = %.17g\n", grad[1]);
  printf("d2f/dx2 = %.17g\n", hess[0]);
  printf("d2f/dxdy = %.17g\n", hess[1]);
  printf("d2f/dydx = %.17g\n", hess[2]);
  printf("d2f/dy2 = %.17g\n", hess[3]);
  return 0;
}
