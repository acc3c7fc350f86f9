#!/usr/bin/python3
"""Per-op-class split of a BM training step, for bench/bench_cpu.py.

From the step rewritten by ``bm-quantize-training`` (the text bm-opt
prints), builds two more modules with one function ``@bm_part`` each:

* ``bm ops`` (``@bm_part``): the step's bm ops alone, in order, with the same types and
  attributes and the same data flow between them (``bm.quantize`` feeding
  ``bm.matmul`` / ``bm.conv2d`` / ``bm.batch_matmul``). Every operand that
  another op of the step computes becomes an argument; the contraction
  results are returned, and each quantize's codes and biases too
  (``bm.unpack``), so that nothing is dead.
* ``quantize`` (``@quantize_part``): the quantizes alone, likewise.

Timed in the same run as the step, compiled the same way, they split it
into quantize (the second), contractions (the first minus the second) and
the FP32 remainder (the step minus the first). The split is an estimate:
the bm ops run on other data (random, of the same shapes) and without the
step's other work in the caches.

    step_split.py --check MODULE   # extract both parts; print them
"""

import argparse
import re
import sys

# `%r = bm.<op> <operands and attributes> : <types>` as bm-opt prints it.
_BM_OP = re.compile(
    r"^\s*(%[\w#]+) = bm\.(quantize|matmul|conv2d|batch_matmul) (.*)$")
_BM_TYPE = re.compile(r"!bm\.tensor<([0-9x]+)x(e\d+m\d+), block = \[([0-9, ]+)\]>")


def code_type(fmt):
    """The integer type bm.unpack stores `fmt`'s codes in (e2m3: i8)."""
    e, m = (int(v) for v in fmt[1:].split("m"))
    bits = 1 + e + m
    return "i8" if bits <= 8 else "i16" if bits <= 16 else "i32"


def _name(value):
    """A result `%22#0` as a plain SSA name."""
    m = re.match(r"%([\w]+)#(\d+)$", value)
    return "%%v%s_r%s" % m.groups() if m else value


def _split_types(text):
    """Top-level comma-separated types (commas inside <...> kept)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _split_colon(text):
    """`operands {attrs} : types` at the ` : ` outside brackets."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "{[<(":
            depth += 1
        elif ch in "}]>)":
            depth -= 1
        elif depth == 0 and text.startswith(" : ", i):
            return text[:i], text[i + 3:]
    raise ValueError("no type list in: " + text)


def _rename(text, names):
    return re.sub(r"%[\w]+#\d+", lambda m: names.get(m.group(0), m.group(0)),
                  text)


def extract(text, quantize_only=False, name="bm_part"):
    """Returns (module text, [(argument name, type)]) of the bm part of the
    step in `text`: one function `@name`. Raises ValueError when the step
    has no bm op."""
    defined, args, body, results = {}, [], [], []

    def use(value, type_):
        if value not in defined:
            defined[value] = type_
            args.append((_name(value), type_))

    for line in text.splitlines():
        m = _BM_OP.match(line)
        if not m:
            continue
        res, kind, rest = m.groups()
        operands, types = _split_colon(rest)
        # Operands only: not the values named in the attribute dictionary.
        operands = operands.split("{")[0]
        if quantize_only and kind != "quantize":
            continue
        in_types, out_type = [t.strip() for t in types.rsplit("->", 1)]
        values = re.findall(r"%[\w#]+", operands)
        if kind == "quantize":
            # %x <rounding> [seed %s] [scale(...)] : tensor -> !bm.tensor
            use(values[0], in_types)
            if len(values) > 1:
                use(values[1], "i64")
        else:
            for v, t in zip(values[:3], _split_types(in_types)):
                use(v, t)
        defined[res] = out_type
        body.append("  " + line.strip())
        results.append((res, out_type, kind == "quantize"))
    if not results:
        raise ValueError("the step has no bm op")

    rets, ret_types, unpacks = [], [], []
    for res, type_, is_quantize in results:
        if not is_quantize:
            rets.append(res)
            ret_types.append(type_)
            continue
        m = _BM_TYPE.match(type_)
        shape = [int(s) for s in m.group(1).split("x")]
        block = [int(s) for s in m.group(3).split(",")]
        grid = [-(-s // b) for s, b in zip(shape, block)]
        codes = "tensor<%sx%s>" % ("x".join(map(str, shape)),
                                   code_type(m.group(2)))
        biases = "tensor<%sxi8>" % "x".join(map(str, grid))
        base = _name(res)[1:]
        unpacks.append("  %%c_%s, %%b_%s = bm.unpack %s : %s -> %s, %s"
                       % (base, base, res, type_, codes, biases))
        rets += ["%%c_%s" % base, "%%b_%s" % base]
        ret_types += [codes, biases]
    lines = ["func.func @%s(%s) -> (%s) {" % (
        name, ", ".join("%s: %s" % a for a in args), ", ".join(ret_types))]
    lines += body + unpacks
    lines.append("  return %s : %s" % (", ".join(rets), ", ".join(ret_types)))
    lines.append("}")
    names = {v: _name(v) for v in re.findall(r"%[\w]+#\d+", "\n".join(lines))}
    return _rename("\n".join(lines), names) + "\n", args


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", metavar="MODULE", required=True,
                   help="a rewritten step (bm-opt output); print both parts")
    a = p.parse_args(argv)
    with open(a.check) as f:
        text = f.read()
    for quantize_only, name in ((False, "bm_part"), (True, "quantize_part")):
        try:
            module, _ = extract(text, quantize_only, name)
        except ValueError as e:
            p.exit(2, "step_split.py: %s: %s (give the step after "
                   "bm-opt --bm-quantize-training)\n" % (a.check, e))
        sys.stdout.write(module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
