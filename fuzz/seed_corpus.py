#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets, fuzz/corpus/<target>/seed-*, from the repository's
own inputs: the bad inputs of tests/reference/ (generated ones scaled down to fuzzing size), the
sample models, some reference expressions and a few programs that use every kind of statement;
for the CSV target the heads of the sample data and every kind of bad data; for the checkpoint
target the checkpoints of `nabla fit` in fuzz/checkpoint_*.txt (format versions 1 and 2), whole,
cut short and with a byte changed, and bodies nested deeper than once crashed the JSON parser; for
the params target good and bad params files (numbers that overflow and underflow) and the same
deep nesting. Regression inputs (corpus/<target>/regress-*) are kept. Run it from anywhere; it is
deterministic.

  python3 fuzz/seed_corpus.py
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

PROGRAMS = [
    "f(x, y) = (x^2 + y)^2 * (y - x*y)\n",
    "param w[3] = [1, 2, 3]\nparam b ~ normal(0, 0.1)\ninput x[3]\ninput y\n"
    "p = sigmoid(dot(w, x) + b)\nminimize -(y*log(p) + (1-y)*log(1-p))\n"
    "report acc = where((p > 0.5) == (y > 0.5), 1, 0)\n",
    "param W[2][3] ~ uniform(-1, 1)\ninput x[3] from (a .. c)\ninput k from (label)\n"
    "z = W @ x\nminimize logsumexp(z) - dot(onehot(k, 2), z)\n",
    "param a\nparam b\nconst c = 2\nr = (1-a)^2 + 100*(b-a^2)^2\ng = grad(r)\nh = hessian(r)\n"
    "minimize r + c*sum(g^2) + h[0][1]\n",
    "g(x) = d(sin(x)*x^3, x)\nh(x, y) = grad(x*y^2 + exp(x))[1]\nh(1, 2) + g(0.5)\n",
    "param v[4]\nminimize norm(v) + prod(v) + mean(softmax(v)) + max(v) + sum(abs(v))\n",
    "x^y^2 - -x^2 + !(x < y) * (x >= 0 && y != 1 || x == 2)\n",
    "where(x > 0, sqrt(x), 0) + relu(x) + floor(x) + sign(x) + min(x, 1) + atan2(x, 2) + hypot(x, 3)\n",
    "log(1 + exp(x)) + log(sigmoid(x)) + log(exp(x) + exp(y)) + log(1 + x^2) + expm1(x) + log1p(x)\n",
    "asin(x) + acos(x) + atan(x) + sinh(x) + cosh(x) + tanh(x) + tan(x) + softplus(x) + pow(x, 3)\n",
    "param m[2][2] = [[1, 2], [3, 4]]\nminimize sum(m @ m) + m[1][0]\n",
    "f(x) = x + 1; g(y) = f(y) * f(y); g(f(z))\n",
    "d(d(d(x^5, x), x), x)\n",
    "hessian(x^2*y + y^3)\n",
]

def bad_inputs():
    out = [line for line in (ROOT / "tests/reference/bad_inputs.txt").read_text().split("\n") if line]
    data = json.loads((ROOT / "tests/reference/bad_inputs.json").read_text())
    out += data["escaped"]
    out += [bytes.fromhex(item["hex"]) for item in data["bytes_hex"]]
    for group in ("generated_reject", "generated_no_crash"):
        for item in data[group]:
            # Scaled to 100 repetitions: past the fuzzing nesting limit (64), still small.
            out.append("".join(part * min(count, 100) for part, count in item["parts"]))
    return out

def seeds():
    items = bad_inputs()
    items += [p.read_text() for p in sorted((ROOT / "samples").glob("*.nabla"))]
    cases = json.loads((ROOT / "tests/reference/gradients.json").read_text())
    items += [c["expr"] for c in cases[::8]]
    items += PROGRAMS
    return [i.encode() if isinstance(i, str) else i for i in items]

def write(target, inputs):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for data in inputs:
        name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
        (folder / name).write_bytes(data)

CSV_CASES = [
    "x,y\n1,2\n3,4\n", "x,y\n1,2\n3,\n", "x,y\n1,2\nthree,4\n", "x,y\n1,2\n3,nan\n",
    "x,y\n1,inf\n", "x,y\n1,2\n3,4,5\n", "x,y\n1\n", "", "x,y\n", "x,y", "\ufeffx,y\n1,2\n",
    "x,y\r\n1,2\r\n3,4\r\n", "x,y\r1,2\r", "\"a,b\",\"c\"\"d\"\n\"1\",\"2\"\n",
    "\"a\nb\",c\n1,2\n", "\"unterminated,c\n1,2\n", " x , y \n 1 , 2 \n\n\n", "x,x\n1,2\n",
    "x\n0x10\n", "x\n1e999\n", "x\n1e-400\n", "x\n-0\n", "x,y\n,\n", "x\n1\x002\n",
    "a,b,c\n1,\x1b[31m,3\n", "x\n1e-310\n", "x\n-4.9e-324\n", "x\n0e-400\n",
    "x,y\n" + "1," * 70 + "\n",
]

def csv_seeds():
    items = list(CSV_CASES)
    for path in sorted((ROOT / "samples" / "data").glob("*.csv")):
        items.append("".join(path.read_text().splitlines(keepends=True)[:6]))
    return [i.encode() for i in items]

def checkpoint_seeds():
    out = []
    for path in sorted((ROOT / "fuzz").glob("checkpoint_*.txt")):
        whole = path.read_bytes()
        body = whole[whole.index(b"\n") + 1:]
        out.append(b"\x01" + whole)                    # the file as written
        out.append(b"\x01" + whole[: len(whole) // 2])  # truncated
        changed = bytearray(whole)
        changed[len(changed) // 2] ^= 0x01
        out.append(b"\x01" + bytes(changed))           # corrupted: the checksum fails
        version = int(whole.split(b" ")[1])
        mode = bytes([2 * (version - 1)])              # its version (fuzz_checkpoint.cpp)
        out.append(mode + body)                        # the body, given a valid header
        out.append(mode + body.replace(b'"0x', b'"-0x', 3))
        out.append(mode + body[: len(body) // 3])
    out += [b"\x00" + deep.encode() for deep in deep_json()]
    out += [b"\x02" + deep.encode() for deep in deep_json()[:1]]
    return out

# Nesting deep enough to have overflowed the stack of the recursive JSON parser (it crashed at
# about 50,000 levels in `nabla fit`): refused by the check before it now. Keep them under the
# fuzzers' -max_len for these targets (scripts/test.sh).
DEEP = 60000

def deep_json():
    return [
        "[" * DEEP + "]" * DEEP,
        "{\"a\":" * DEEP,
        "{\"w\": " + "[" * DEEP,
        "[\"" + "[" * 1000 + "\", " + "[" * 63 + "1" + "]" * 63 + "]",  # brackets in a string
        "{\"a\": [" + "{\"b\": [" * 40 + "]}" * 40 + "]}",
    ]

PARAMS_CASES = [
    '{"w": 1, "v": [1, 2, 3], "W": [[1, 2, 3], [4, 5, 6]]}',
    '{"params": {"w": -0.5, "v": [0, "nan", "inf"]}, "standardize": '
    '{"x": {"mean": [0, 1, 2], "std": [1, 2, 3]}}}',
    '{"w": 1e-400}', '{"w": -1e-310}', '{"w": 1e999}', '{"w": 0e-400}', '{"w": 5e-324}',
    '{"w": [1]}', '{"v": [1, 2]}', '{"W": [[1, 2, 3]]}', '{"q": 1}', '{"w": "x"}', '[1, 2]',
    '{"params": 3}', '{"standardize": {"x": {"mean": [0, 0, 0], "std": [0, 1, 1]}}}',
    '{"\\u001b[2J": 1}', '{"w": 1', '', 'null', '{"w": 01}', '{"w": 1.}', '{"w": -}',
]

def params_seeds():
    return [i.encode() for i in PARAMS_CASES + deep_json()]

def main():
    inputs = seeds()
    write("diagnostics", inputs)
    write("pipeline", inputs)
    # The C API target's first byte chooses the options: cycle through all of them.
    write("c_api", [bytes([k % 32]) + data for k, data in enumerate(inputs)])
    write("csv", csv_seeds())
    write("checkpoint", checkpoint_seeds())
    write("params", params_seeds())

if __name__ == "__main__":
    main()
