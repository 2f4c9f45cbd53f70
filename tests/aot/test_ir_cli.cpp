// `nabla ir`: the printed IR is a valid LLVM module holding the entry point of the chosen function
// with the array ABI, optimized at the chosen level; --grad, --asm, --fast-math, --fn, errors.
#include "aot_test_util.h"

#include <llvm/AsmParser/Parser.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>

using namespace nabla::aottest;
using nabla::test::ProcessResult;

namespace {

/// Parses and verifies printed IR; fails the test when LLVM rejects it.
std::unique_ptr<llvm::Module> parseIr(llvm::LLVMContext &context, const std::string &text) {
  llvm::SMDiagnostic error;
  std::unique_ptr<llvm::Module> module = llvm::parseAssemblyString(text, error, context);
  if (!module) {
    std::string message;
    llvm::raw_string_ostream os(message);
    error.print("ir", os);
    FAIL(os.str());
  }
  std::string problems;
  llvm::raw_string_ostream os(problems);
  INFO(os.str());
  CHECK_FALSE(llvm::verifyModule(*module, &os));
  return module;
}

const char *const kFile = "param w[2]\ninput x[2]\nf(a, b) = a*b + sin(a)\ng(t) = exp(t)\n"
                          "minimize (dot(w, x) - 1)^2\n";

}  // namespace

TEST_CASE("nabla ir prints the optimized value entry point of an expression", "[aot][ir]") {
  ProcessResult r = runNablaWith({"ir", "(x^2 + y)^2 * (y - x*y)"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> module = parseIr(context, r.out);
  llvm::Function *f = module->getFunction("f");
  REQUIRE(f);
  CHECK(f->getReturnType()->isDoubleTy());
  REQUIRE(f->arg_size() == 1);
  CHECK(f->getArg(0)->getType()->isPointerTy());
  CHECK(module->getFunction("f_grad") == nullptr);
  CHECK(module->getTargetTriple() != "");
  // Squares are products (graph/libm.h's power()), and optimized at -O2 LLVM has inferred what
  // f reads.
  CHECK_FALSE(contains(r.out, "@pow("));
  CHECK(contains(r.out, "memory(argmem: read)"));
  CHECK_FALSE(contains(r.out, " fast "));

  // -O0 runs no optimization pass: nothing is inferred.
  ProcessResult o0 = runNablaWith({"ir", "(x^2 + y)^2 * (y - x*y)", "-O0"});
  REQUIRE(o0.exitCode == 0);
  CHECK(contains(o0.out, "fmul double"));
  CHECK_FALSE(contains(o0.out, "memory(argmem: read)"));
  parseIr(context, o0.out);
}

TEST_CASE("nabla ir --grad prints the value-and-gradient entry point", "[aot][ir]") {
  ProcessResult r = runNablaWith({"ir", "x*y + z", "--grad", "--fast-math"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> module = parseIr(context, r.out);
  llvm::Function *f = module->getFunction("f_grad");
  REQUIRE(f);
  REQUIRE(f->arg_size() == 2);
  CHECK(f->getReturnType()->isDoubleTy());
  CHECK(module->getFunction("f") == nullptr);
  CHECK(contains(r.out, "store double"));
  // Fast-math flags, all but reassoc: nabla balances sums itself (codegen::balanceSums).
  // Fast math leaves contraction to LLVM (codegen::codeTape).
  CHECK(contains(r.out, "fmul nnan ninf nsz arcp contract afn double"));
  CHECK_FALSE(contains(r.out, "@llvm.fma"));
  // IEEE mode: (x*y)*z + z and the derivative x*y + 1 are the interpreter's fused multiply-adds.
  ProcessResult ieee = runNablaWith({"ir", "x*y*z + z", "--grad"});
  REQUIRE(ieee.exitCode == 0);
  CHECK(contains(ieee.out, "call double @llvm.fma.f64("));
  CHECK(contains(ieee.out, "double 1.000000e+00)"));
  CHECK(contains(r.out, "\"no-nans-fp-math\"=\"true\""));
}

TEST_CASE("nabla ir --asm prints the host's assembly", "[aot][ir]") {
  ProcessResult r = runNablaWith({"ir", "sin(x) * y", "--asm"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(contains(r.out, "\nf:\n"));
  CHECK(contains(r.out, ".globl\tf"));
  CHECK(contains(r.out, "sin"));
  CHECK_FALSE(contains(r.out, "define"));
}

TEST_CASE("nabla ir takes a file's function or objective with --fn", "[aot][ir]") {
  TempDir dir;
  writeText(dir / "model.nabla", kFile);
  ProcessResult several = runNablaWith({"ir", dir / "model.nabla"});
  CHECK(several.exitCode == 1);
  CHECK(contains(several.err, "choose one with --fn NAME"));

  ProcessResult g = runNablaWith({"ir", dir / "model.nabla", "--fn", "g"});
  REQUIRE(g.exitCode == 0);
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> gm = parseIr(context, g.out);
  REQUIRE(gm->getFunction("g"));
  CHECK(contains(g.out, "@exp("));

  // The objective reads its params and then its inputs: four doubles, the last at offset 24.
  ProcessResult l = runNablaWith({"ir", dir / "model.nabla", "--fn", "L", "--grad"});
  INFO(l.err);
  REQUIRE(l.exitCode == 0);
  std::unique_ptr<llvm::Module> lm = parseIr(context, l.out);
  REQUIRE(lm->getFunction("L_grad"));
  CHECK(contains(l.out, "i64 24"));

  ProcessResult unknown = runNablaWith({"ir", dir / "model.nabla", "--fn", "h"});
  CHECK(unknown.exitCode == 1);
  CHECK(contains(unknown.err, "no function 'h'"));
}

TEST_CASE("nabla ir reports bad input and bad usage", "[aot][ir]") {
  ProcessResult syntax = runNablaWith({"ir", "x +"});
  CHECK(syntax.exitCode == 1);
  CHECK(contains(syntax.err, "<expr>:1:"));
  ProcessResult level = runNablaWith({"ir", "x", "-O9"});
  CHECK(level.exitCode == 2);
  ProcessResult option = runNablaWith({"ir", "x", "--emit", "obj"});
  CHECK(option.exitCode == 2);
  ProcessResult help = runNablaWith({"ir", "--help"});
  CHECK(help.exitCode == 0);
  CHECK(contains(help.out, "--asm"));
  CHECK(contains(help.out, "double f(const double *args)"));
}
