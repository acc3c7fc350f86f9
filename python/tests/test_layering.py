"""The library / application split of python/bm.

The library (``bm``, ``bm.numerics``, ``bm.compiler``, ``bm.frontend.*``)
never imports the training application ``bm.train``: not when it is
imported (checked in a fresh interpreter) and not in any import statement,
including those inside functions that run only later (checked on the
source). ``python -m bm.train --help`` works, and without importing torch.
"""

import ast
import os
import subprocess
import sys
import unittest

PYTHON_DIR = os.path.normpath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), ".."))
BM_DIR = os.path.join(PYTHON_DIR, "bm")
APP = "bm.train"


def library_modules():
    """(module name, path) of every module of python/bm outside bm.train."""
    found = []
    for root, dirs, files in os.walk(BM_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        rel = os.path.relpath(root, PYTHON_DIR).replace(os.sep, ".")
        if rel == APP or rel.startswith(APP + "."):
            continue
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            name = rel if f == "__init__.py" else rel + "." + f[:-3]
            found.append((name, os.path.join(root, f)))
    return found


def imported_modules(name, path):
    """The absolute names of the modules that the import statements of
    module `name` (at `path`) name, wherever in the file they are."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                module = base + ("." + node.module if node.module else "")
            else:
                module = node.module
            names.append((node.lineno, module))
            # `from bm import train` names the package through an alias.
            names += [(node.lineno, module + "." + a.name) for a in node.names]
    return names


def is_app(module):
    return module == APP or module.startswith(APP + ".")


class Layering(unittest.TestCase):
    def test_the_library_modules_are_found(self):
        names = [n for n, _ in library_modules()]
        for expected in ("bm", "bm.numerics", "bm.compiler", "bm.frontend",
                         "bm.frontend.capture", "bm.frontend.emitter"):
            self.assertIn(expected, names)
        self.assertFalse([n for n in names if is_app(n)])

    def test_no_import_statement_of_the_library_names_the_application(self):
        bad = []
        for name, path in library_modules():
            for line, module in imported_modules(name, path):
                if is_app(module):
                    bad.append("%s:%d imports %s"
                               % (os.path.relpath(path, PYTHON_DIR), line,
                                  module))
        self.assertEqual(bad, [], "the library must not import the training "
                         "application; move what it needs into the library")

    def test_importing_the_library_loads_nothing_of_the_application(self):
        names = [n for n, _ in library_modules()]
        code = ("import importlib, sys\n"
                "for name in sys.argv[1:]:\n"
                "    importlib.import_module(name)\n"
                "print('\\n'.join(sorted(m for m in sys.modules "
                "if m == 'bm' or m.startswith('bm.'))))\n")
        out = subprocess.run([sys.executable, "-c", code] + names,
                             cwd=PYTHON_DIR, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        loaded = out.stdout.split()
        for name in names:
            self.assertIn(name, loaded)
        self.assertEqual([m for m in loaded if is_app(m)], [])


class Command(unittest.TestCase):
    def test_help(self):
        # -X importtime lists every module the command imports, on stderr.
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", APP, "--help"],
            cwd=PYTHON_DIR, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("usage: bm-train "), out.stdout)
        for option in ("--model", "--width", "--formats", "--epochs",
                       "--batch-size", "--lr", "--momentum", "--weight-decay",
                       "--seeds", "--rounding", "--loss-grad", "--scale",
                       "--forward-scale", "--backward-scale", "--limit",
                       "--test-limit", "--data", "--out"):
            self.assertIn(option + " ", out.stdout)
        self.assertIn("{mlp,cnn,resnet18,resnet18-cifar,vit}", out.stdout)
        imported = [line.rsplit("|", 1)[-1].strip()
                    for line in out.stderr.splitlines()
                    if line.startswith("import time:")]
        self.assertIn("bm.train.cli", imported)
        self.assertFalse("torch" in imported,
                         "--help must not import torch (it takes seconds)")

    def test_bad_option(self):
        out = subprocess.run([sys.executable, "-m", APP, "--formats", "bm7"],
                             cwd=PYTHON_DIR, capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)
        self.assertIn("unknown format bm7; choose from torch, fp32, bm8, bm6, "
                      "bm5, bm4", out.stderr)


if __name__ == "__main__":
    unittest.main()
