#!/usr/bin/env python3
"""Runs every console example of README.md and docs/*.md and compares what it prints with the
text shown, so that the docs cannot drift from the program.

  check_console.py --nabla PATH --root SOURCE_DIR [FILE.md ...]

A console example is a ```console block: lines that start with `$ ` are commands (a line ending
in a backslash continues on the next), and the lines after a command, up to the next one, are
what it prints. Each command runs in bash, in a scratch folder per document (so that a later
command sees the files an earlier one wrote) where `samples` is the repository's samples folder,
`docs/` is empty, `build/nabla` and `nabla` on PATH are the nabla under test. What is compared
is what a terminal shows: standard output and standard error together, except the progress lines
of `nabla fit` (`epoch N/M ...`) and its `time:` line, which change from run to run.

`$ nabla repl` followed by `nabla> ` lines is a transcript: the text after each prompt is the
session's input, and the other lines after the banner are its output.

In the text shown, a line that is only `...` (indented or not) stands for any number of lines.
A comment `<!-- console: vary REGEX -->` before a block leaves out of the comparison the lines,
shown and printed, that REGEX matches (timings). Prints each mismatch with both texts; exits 1
if any.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

PROGRESS = re.compile(r"^(epoch \d+/\d+ |time: )")


def blocks(path):
    """(line number, vary regexes, lines) of each console block of a Markdown file."""
    out, vary, inside, start, lines = [], [], False, 0, []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not inside:
                m = re.match(r"\s*<!-- console: vary (.*) -->\s*$", line)
                if m:
                    vary.append(re.compile(m.group(1)))
                elif line.strip() == "```console":
                    inside, start, lines = True, number, []
                elif line.strip() and not line.startswith("<!--"):
                    vary = []
            elif line.strip() == "```":
                out.append((start, vary, lines))
                inside, vary = False, []
            else:
                lines.append(line)
    return out


def commands(lines):
    """(command, shown output lines) of a block."""
    out, i = [], 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise ValueError(f"output before any command: {lines[i]!r}")
        command = lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + " " + lines[i].strip()
        i += 1
        shown = []
        while i < len(lines) and not lines[i].startswith("$ "):
            shown.append(lines[i])
            i += 1
        out.append((command, shown))
    return out


def matches(shown, printed):
    """Whether the printed lines are the shown ones, a `...` line standing for any lines."""
    if not shown:
        return not printed
    if shown[0].strip() == "...":
        return any(matches(shown[1:], printed[k:]) for k in range(len(printed) + 1))
    return bool(printed) and shown[0] == printed[0] and matches(shown[1:], printed[1:])


def run(command, cwd, env, stdin=None):
    r = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, input=stdin, capture_output=False,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    return [line for line in r.stdout.split("\n") if not PROGRESS.match(line)], r.returncode


def check(root, files, nabla, report=print):
    """(examples, failures) of the console blocks of `files` (paths relative to root)."""
    failures = examples = 0
    for name in files:
        found = blocks(os.path.join(root, name))
        if not found:
            continue
        with tempfile.TemporaryDirectory(prefix="nabla-docs-") as work:
            os.symlink(os.path.join(root, "samples"), os.path.join(work, "samples"))
            os.makedirs(os.path.join(work, "docs"))
            bindir = os.path.join(work, "build")
            os.makedirs(bindir)
            os.symlink(nabla, os.path.join(bindir, "nabla"))
            env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                       LC_ALL="C.UTF-8", NO_COLOR="1")
            env.pop("NABLA_CACHE_DIR", None)
            for start, vary, lines in found:
                for command, shown in commands(lines):
                    examples += 1
                    stdin = None
                    if command.strip() == "nabla repl" and any(s.startswith("nabla> ") for s in shown):
                        # A transcript: the inputs after the prompts, the rest (but the banner) output.
                        stdin = "".join(s[len("nabla> "):] + "\n" for s in shown if s.startswith("nabla> "))
                        shown = [s for s in shown[1:] if not s.startswith("nabla> ")]
                    printed, status = run(command, work, env, stdin)
                    while printed and printed[-1] == "":
                        printed.pop()
                    keep = lambda text: not any(v.search(text) for v in vary)
                    want = [s for s in shown if keep(s)]
                    got = [p for p in printed if keep(p)]
                    if not matches(want, got):
                        failures += 1
                        report(f"{name}:{start}: $ {command}\n--- shown\n" + "\n".join(want) +
                               f"\n--- printed (exit status {status})\n" + "\n".join(got) + "\n")
    return examples, failures


def self_test(nabla):
    """The checker finds a wrong example, and takes `...` and `vary` as documented."""
    with tempfile.TemporaryDirectory(prefix="nabla-docs-self-") as root:
        os.makedirs(os.path.join(root, "samples"))
        os.makedirs(os.path.join(root, "docs"))
        cases = {
            "right.md": ("```console\n$ echo one; echo two\none\ntwo\n$ nabla --version\n"
                         "nabla 0.1.0\n```\n", 0),
            "wrong.md": "```console\n$ echo one\ntwo\n```\n",
            "dots.md": ("```console\n$ printf 'a\\nb\\nc\\nd\\n'\na\n...\nd\n"
                        "$ printf 'a\\n'\na\n  ...\n```\n", 0),
            "dots_wrong.md": "```console\n$ printf 'a\\nb\\n'\n...\nc\n```\n",
            "vary.md": ("<!-- console: vary ^took -->\n```console\n$ echo took 3 s; echo done\n"
                        "took 5 s\ndone\n```\n", 0),
            "vary_gone.md": "```console\n$ echo took 3 s\ntook 5 s\n```\n",
            "stderr.md": ("```console\n$ echo err >&2\nerr\n```\n", 0),
        }
        ok = True
        for name, case in cases.items():
            text, want = (case if isinstance(case, tuple) else (case, 1))
            with open(os.path.join(root, "docs", name), "w") as f:
                f.write(text)
            _, failures = check(root, [os.path.join("docs", name)], nabla, report=lambda m: None)
            if (failures > 0) != (want > 0):
                print(f"self-test: {name}: {failures} failures, expected {want}")
                ok = False
        print("self-test: " + ("ok" if ok else "FAILED"))
        return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nabla", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    nabla = os.path.abspath(args.nabla)
    if args.self_test:
        return self_test(nabla)
    root = os.path.abspath(args.root)
    files = args.files or ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
    examples, failures = check(root, files, nabla)
    print(f"{examples} console examples, {failures} that print something else")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
