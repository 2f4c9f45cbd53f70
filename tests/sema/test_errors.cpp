// Every sema error: its exact message and where it points.
#include "sema/support.h"

#include <catch2/catch.hpp>

using namespace nabla;
using namespace nabla::test;

namespace {

/// Lowers `text`, requires failure and returns the result for further checks of the first error.
Lowered failing(const std::string &text, bool bare = false, const LowerOptions &options = {}) {
  Lowered l = lower(text, options, bare);
  INFO(l.rendered());
  CHECK_FALSE(l.ok());
  CHECK(l.sink->hasErrors());
  return l;
}

void expectError(const std::string &text, const std::string &expected, bool bare = false,
                 const LowerOptions &options = {}) {
  Lowered l = failing(text, bare, options);
  INFO(l.rendered());
  CHECK(l.firstError() == expected);
}

std::string noteOf(const Lowered &l, std::size_t diagnostic = 0, std::size_t note = 0) {
  const Diagnostic &d = l.diagnostic(diagnostic);
  if (note >= d.notes.size()) return "(no note)";
  return l.at(d.notes[note].range) + ": " + d.notes[note].message;
}

}  // namespace

TEST_CASE("unknown names suggest a close one", "[sema]") {
  Lowered l = failing("param w\nminimize wx^2");
  CHECK(l.firstError() == "2:10: unknown name 'wx'");
  CHECK(noteOf(l) == "2:10: did you mean 'w'?");

  Lowered f = failing("f(alpha) = alpa + 1");
  CHECK(f.firstError() == "1:12: unknown name 'alpa'");
  CHECK(noteOf(f) == "1:12: did you mean 'alpha'?");

  Lowered none = failing("param w\nminimize qqqqq");
  CHECK(none.firstError() == "2:10: unknown name 'qqqqq'");
  CHECK(none.diagnostic().notes.empty());
}

TEST_CASE("unknown functions suggest a built-in", "[sema]") {
  Lowered l = failing("param w\nminimize sinh2(w)");
  CHECK(l.firstError() == "2:10: unknown function 'sinh2'");
  CHECK(noteOf(l) == "2:10: did you mean 'sinh'?");

  Lowered s = failing("Sin(x)", true);
  CHECK(s.firstError() == "1:1: unknown function 'Sin'");
  CHECK(noteOf(s) == "1:1: did you mean 'sin'?");
  CHECK(s.errors().size() == 1);
}

TEST_CASE("arity errors", "[sema]") {
  expectError("param x\nminimize pow(x)", "2:10: 'pow' takes 2 arguments, but 1 was given");
  expectError("sin(x, y)", "1:1: 'sin' takes 1 argument, but 2 were given", true);
  expectError("max(x, y, x)", "1:1: 'max' takes 1 or 2 arguments, but 3 were given", true);
  expectError("where(x, 1)", "1:1: 'where' takes 3 arguments, but 2 were given", true);
  expectError("d(x)", "1:1: 'd' takes 2 arguments, but 1 was given", true);
  Lowered f = failing("f(a, b) = a + b\nc = f(1)");
  CHECK(f.firstError() == "2:5: 'f' takes 2 arguments, but 1 was given");
  CHECK(noteOf(f) == "1:1: 'f' is defined here");
}

TEST_CASE("calling what is not a function, using a function as a value", "[sema]") {
  Lowered v = failing("param x\nc = x(2)");
  CHECK(v.firstError() == "2:5: 'x' is not a function");
  CHECK(noteOf(v) == "1:7: 'x' is defined here");
  expectError("f(x) = x(1)", "1:8: 'x' is not a function");
  expectError("x(1) + x", "1:1: 'x' is not a function", true);
  expectError("f(x) = x\nc = f + 1", "2:5: 'f' is a function, not a value");
  expectError("c = sin + 1", "1:5: 'sin' is a function, not a value");
}

TEST_CASE("shape errors name both shapes", "[sema]") {
  const std::string decl = "param a[3]\nparam b[2]\nparam M[2][3]\n";
  expectError(decl + "c = a + b", "4:5: cannot add [3] and [2]");
  expectError(decl + "c = a - b", "4:5: cannot subtract [3] and [2]");
  expectError(decl + "c = a * M", "4:5: cannot multiply [3] and [2][3]");
  expectError(decl + "c = b / a", "4:5: cannot divide [2] and [3]");
  expectError(decl + "c = a ^ b", "4:5: cannot raise [3] to the power [2]");
  expectError(decl + "c = a < b", "4:5: cannot compare [3] and [2]");
  expectError(decl + "c = a && b", "4:5: cannot combine [3] and [2] with '&&'");
  expectError(decl + "c = a || b", "4:5: cannot combine [3] and [2] with '||'");
  expectError(decl + "c = pow(a, b)", "4:5: cannot apply 'pow' to [3] and [2]");
  expectError(decl + "c = where(a > 0, b, 1)", "4:5: cannot apply 'where' to [3], [2] and scalar");
  expectError(decl + "c = dot(a, b)", "4:5: cannot apply 'dot' to [3] and [2]");
  expectError(decl + "c = M @ b", "4:5: cannot matrix-multiply [2][3] and [2]");
  expectError(decl + "c = a @ 2", "4:5: cannot matrix-multiply [3] and scalar");
  expectError(decl + "c = M @ M", "4:5: cannot matrix-multiply [2][3] and [2][3]");
}

TEST_CASE("indexing errors", "[sema]") {
  expectError("param v[3]\nc = v[3]", "2:7: index 3 is out of bounds for 'v' of shape [3]");
  expectError("param v[3]\nc = v[0 - 4]", "2:7: index -4 is out of bounds for 'v' of shape [3]");
  expectError("param v[3]\nc = v[-4]", "2:7: index -4 is out of bounds for 'v' of shape [3]");
  expectError("param M[2][3]\nc = M[1][3]", "2:10: index 3 is out of bounds for 'M[1]' of shape [3]");
  expectError("param s\nc = s[0]", "2:5: cannot index 's', which is a scalar");
  expectError("param v[3]\nparam i\nc = v[i]", "3:7: an index must be a constant integer");
  expectError("param v[3]\nc = v[1.5]", "2:7: index 1.5 is not an integer");
  expectError("param M[2][3]\nc = M[1, 3]", "2:10: index 3 is out of bounds for 'M' of shape [2][3]");
  expectError("param v[3]\nc = v[1, 0]", "2:10: 2 subscripts for 'v', which has shape [3] (1 dimension)");
  expectError("param M[2][3]\nc = M[:, :, 0]",
              "2:13: 3 subscripts for 'M', which has shape [2][3] (2 dimensions)");
  expectError("param v[3]\nc = v[[1, 2]]", "2:7: an index must be a constant integer");
}

TEST_CASE("slice errors", "[sema]") {
  expectError("param v[3]\nc = v[3:]", "2:7: slice '3:' of 'v' (of length 3) is empty");
  expectError("param v[3]\nc = v[2:1]", "2:7: slice '2:1' of 'v' (of length 3) is empty");
  expectError("param v[3]\nc = v[-1:-2]", "2:7: slice '-1:-2' of 'v' (of length 3) is empty");
  expectError("param v[3]\nc = v[:-4]", "2:8: slice bound -4 is out of bounds for 'v' of shape [3]");
  expectError("param v[3]\nc = v[:4]", "2:8: slice bound 4 is out of bounds for 'v' of shape [3]");
  expectError("param v[3]\nc = v[0.5:]", "2:7: slice bound 0.5 is not an integer");
  expectError("param v[3]\nc = v[v[0]:]", "2:7: a slice bound must be a constant integer");
  expectError("param v[3]\nc = v[:[1, 2]]", "2:8: a slice bound must be a constant integer");
  expectError("param M[2][3]\nc = M[:, 1:1]", "2:10: slice '1:1' of 'M' (of length 3) is empty");
}

TEST_CASE("transpose and outer errors", "[sema]") {
  expectError("param v[3]\nc = transpose(v)", "2:5: transpose(A): A must be a matrix, but has shape [3]");
  expectError("c = transpose(2)", "1:5: transpose(A): A must be a matrix, but has shape scalar");
  expectError("param v[3]\nc = outer(v, 1)",
              "2:5: outer(u, v): u and v must be vectors, but have shapes [3] and scalar");
  expectError("param M[2][3]\nc = outer(M, M[0])",
              "2:5: outer(u, v): u and v must be vectors, but have shapes [2][3] and [3]");
  expectError("param v[3]\nc = transpose(v, v)", "2:5: 'transpose' takes 1 argument, but 2 were given");
}

TEST_CASE("vector literal elements need one shape", "[sema]") {
  expectError("c = [1, [2, 3]]",
              "1:9: the elements of a vector must have one shape, but the first is scalar and "
              "element 2 is [2]");
  expectError("c = [[[1]]]", "1:5: arrays have at most 2 dimensions");
}

TEST_CASE("duplicate names", "[sema]") {
  Lowered l = failing("param a\na = 2");
  CHECK(l.firstError() == "2:1: redefinition of 'a'");
  CHECK(noteOf(l) == "1:7: 'a' is first defined here");
  Lowered f = failing("f(x) = x\nf(y) = y");
  CHECK(f.firstError() == "2:1: redefinition of 'f'");
  Lowered arg = failing("f(x, x) = x");
  CHECK(arg.firstError() == "1:6: duplicate argument 'x'");
  CHECK(noteOf(arg) == "1:3: 'x' is first declared here");
}

TEST_CASE("recursive definitions", "[sema]") {
  Lowered two = failing("a = b + 1\nb = 2 * a");
  CHECK(two.firstError() == "1:1: recursive definition of 'a'");
  CHECK(noteOf(two) == "2:9: the cycle is a -> b -> a");
  CHECK(two.errors().size() == 1);

  Lowered self = failing("a = a + 1");
  CHECK(self.firstError() == "1:1: recursive definition of 'a'");
  CHECK(noteOf(self) == "1:5: 'a' refers to itself");

  expectError("f(x) = f(x - 1)", "1:1: recursive definition of 'f'");
  Lowered fg = failing("f(x) = g(x)\ng(x) = 2 * f(x)\nc = f(1)");
  CHECK(fg.firstError() == "1:1: recursive definition of 'f'");
  CHECK(fg.errors().size() == 1);
}

TEST_CASE("built-in names cannot be declared", "[sema]") {
  expectError("sum = 3", "1:1: 'sum' is a built-in function and cannot be used as a name");
  expectError("param d", "1:7: 'd' is a built-in function and cannot be used as a name");
  expectError("f(exp) = exp", "1:3: 'exp' is a built-in function and cannot be used as an argument name");
  expectError("grad(x) = x", "1:1: 'grad' is a built-in function and cannot be used as a name");
}

TEST_CASE("derivative errors", "[sema]") {
  expectError("param w\nc = 2*w\nminimize d(w^2, c)", "3:17: d(e, v): 'c' is not a variable");
  expectError("param w\nminimize d(w^2, 2)", "2:17: d(e, v): '2' is not a variable");
  expectError("param v[2]\nc = d(v, v)", "2:7: d(e, v): e must be a scalar, but has shape [2]");
  expectError("c = grad(3)", "1:5: grad(e): there are no params to differentiate with respect to");
  expectError("hessian(2)", "1:1: hessian(e): there are no variables to differentiate with respect to", true);
  expectError("param v[2]\nc = grad(v)", "2:10: grad(e): e must be a scalar, but has shape [2]");
}

TEST_CASE("objectives and reports", "[sema]") {
  expectError("param v[2]\nminimize v", "2:10: the objective must be a scalar, but has shape [2]");
  Lowered two = failing("param a\nminimize a\nmaximize a");
  CHECK(two.firstError() == "3:1: a program has at most one objective");
  CHECK(noteOf(two) == "2:1: the first objective is here");
  expectError("param v[2]\nreport r = v", "2:12: report 'r' must be a scalar, but has shape [2]");
}

TEST_CASE("constant expressions", "[sema]") {
  expectError("param a\nconst c = a + 1", "2:11: the value of const 'c' must be a constant expression");
  expectError("param w[0]", "1:9: an array size must be a positive integer, but is 0");
  expectError("param w[2.5]", "1:9: an array size must be a positive integer, but is 2.5");
  expectError("param n\nparam w[n]", "2:9: an array size must be a constant expression");
  expectError("param w[[1, 2]]", "1:9: an array size must be a scalar, but has shape [2]");
  expectError("param w[2][2][2]", "1:7: arrays have at most 2 dimensions");
  expectError("param w[3] = [1, 2]", "1:14: the initial value of 'w' has shape [2], but 'w' is [3]");
  expectError("param b\nparam w = b", "2:11: the initial value of 'w' must be a constant expression");
  expectError("param w ~ normal(0, 0 - 1)", "1:21: the std of normal(mean, std) must not be negative, but is -1");
  expectError("param w ~ uniform(2, 1)", "1:9: uniform(lo, hi) needs lo <= hi, but lo is 2 and hi is 1");
  expectError("input k\nc = onehot(k, 2.5)", "2:15: onehot(k, n): the number of classes n must be a positive integer, but is 2.5");
  expectError("input k\nc = onehot(k, k)", "2:15: onehot(k, n): the number of classes n must be a constant");
  expectError("input k[2]\nc = onehot(k, 3)", "2:12: onehot(k, n): the class index k must be a scalar, but has shape [2]");
  expectError("input v[2]\nc = pad(v, 1, -1)", "2:15: pad(A, ...): a count of zeros must be an integer >= 0, but is -1");
  expectError("input v[2]\ninput k\nc = pad(v, k, 0)", "3:12: pad(A, ...): the counts of zeros must be constants");
  expectError("input M[2][2]\nc = pad(M, 1, 1)", "2:5: pad(A, ...) of [2][2] takes 4 counts (zeros before and after, per dimension), not 2");
  expectError("input k\nc = pad(k, 1, 1)", "2:5: pad(A, ...): A must be a vector or a matrix, not a scalar");
}

TEST_CASE("input columns must match the shape", "[sema]") {
  expectError("input x[3] from (a, b)", "1:18: input 'x' has 3 elements, but 2 columns are listed");
  expectError("input y from (a, b)", "1:15: input 'y' has 1 element, but 2 columns are listed");
}

TEST_CASE("function arguments are scalars", "[sema]") {
  expectError("f(a) = a\nparam v[2]\nc = f(v)", "3:7: argument 1 of 'f' must be a scalar, but has shape [2]");
}

TEST_CASE("bare expressions", "[sema]") {
  LowerOptions noFree;
  noFree.bareFreeVariables = false;
  expectError("x + 1", "1:1: unknown name 'x'", true, noFree);
  expectError("y = 2\nx + 1", "2:1: a bare expression must be the only statement", true);
}

TEST_CASE("limits are located errors", "[sema]") {
  LowerOptions small;
  small.maxNodes = 100;
  Lowered l = failing("param v[60]\nc = sum(v^2)", false, small);
  REQUIRE(l.errors().size() == 1);
  CHECK(l.errors()[0] == "the expression graph exceeds 100 nodes (raise the limit with --max-nodes)");

  LowerOptions narrow;
  narrow.maxArrayElements = 10;
  expectError("param v[11]", "1:9: the array has more than 10 elements (raise the limit with --max-array)",
              false, narrow);
  expectError("param v[4][3]", "1:7: the array has more than 10 elements (raise the limit with --max-array)",
              false, narrow);
  expectError("c = [1,2,3,4,5,6,7,8,9,10,11]",
              "1:5: the array has more than 10 elements (raise the limit with --max-array)", false, narrow);
  expectError("param huge[100000000000]",
              "1:12: the array has more than 10 elements (raise the limit with --max-array)", false, narrow);
}

TEST_CASE("several errors are reported, in source order", "[sema]") {
  Lowered l = failing("a = b + zz\nb = yy\nparam v[2]\nminimize sum(v) + qq");
  CHECK(l.errors() == std::vector<std::string>{"unknown name 'zz'", "unknown name 'yy'",
                                               "unknown name 'qq'"});
  // A use of a failed definition adds no error of its own.
  Lowered once = failing("a = zz\nb = a + 1\nminimize b");
  CHECK(once.errors() == std::vector<std::string>{"unknown name 'zz'"});
}

TEST_CASE("errors render with the source line", "[sema]") {
  Lowered l = failing("param w\nloss = sinh2(w * 2) + 1\n");
  CHECK(l.rendered() ==
        "test.nabla:2:8: error: unknown function 'sinh2'\n"
        "loss = sinh2(w * 2) + 1\n"
        "       ^~~~~\n"
        "test.nabla:2:8: note: did you mean 'sinh'?\n");
}
