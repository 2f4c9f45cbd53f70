/* Embeds nabla in a C program through the C API: JIT-compiles the seed function and prints its
   value, gradient and Hessian at a point, then shows what a compile error looks like.
     cc -I<nabla>/include main.c -L<nabla build> -lnabla -Wl,-rpath,<nabla build> -o c_host */
#include <nabla/nabla.h>

#include <stdio.h>

int main(void) {
  const char *text = "f(x, y) = (x^2 + y)^2 * (y - x*y)";
  const double at[2] = {0.5, -0.5};
  double value, grad[2], hess[4];
  nabla_module *module = NULL;
  nabla_function *f = NULL;
  nabla_status status;

  if (nabla_compile(text, NULL, &module) != NABLA_OK ||
      nabla_module_function(module, "f", &f) != NABLA_OK) {
    fprintf(stderr, "%s\n", nabla_last_error());
    nabla_module_free(module);
    return 1;
  }
  if (nabla_grad(f, at, 2, &value, grad) != NABLA_OK ||
      nabla_hessian(f, at, 2, hess) != NABLA_OK) {
    fprintf(stderr, "%s\n", nabla_last_error());
    return 1;
  }
  printf("%s\n", text);
  printf("arguments %s %s\n", nabla_function_arg_name(f, 0), nabla_function_arg_name(f, 1));
  printf("value     %.17g\n", value);
  printf("gradient  %.17g %.17g\n", grad[0], grad[1]);
  printf("hessian   %.17g %.17g %.17g %.17g\n", hess[0], hess[1], hess[2], hess[3]);
  nabla_function_free(f);
  nabla_module_free(module);

  status = nabla_compile("x + * y", NULL, &module);
  printf("status %d, as expected:\n%s", (int)status, nabla_last_error());
  return 0;
}
