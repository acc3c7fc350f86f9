#!/usr/bin/python3
"""Extracts the GPU code of every gpu.binary in an MLIR module.

  extract_gpu_binaries.py [IN.mlir]            print each PTX (format=isa),
                                               preceded by "// gpu.binary @name"
  extract_gpu_binaries.py IN.mlir -o DIR       write DIR/<name>.ptx (isa) or
                                               DIR/<name>.cubin / .fatbin
  extract_gpu_binaries.py IN.mlir --summary    one line per object: name,
                                               kind (ptx/elf/fatbin), bytes

Reads stdin when IN is "-" or absent. Only the standard library is used.
"""

import argparse
import os
import re
import sys

BINARY_RE = re.compile(r'gpu\.binary @([A-Za-z0-9_$.]+)')


def parse_string(text, i):
    """MLIR string literal starting at text[i] == '"' -> (bytes, end)."""
    assert text[i] == '"'
    out = bytearray()
    i += 1
    while True:
        ch = text[i]
        if ch == '"':
            return bytes(out), i + 1
        if ch == '\\':
            nxt = text[i + 1]
            if nxt in '"\\':
                out.append(ord(nxt))
                i += 2
            elif nxt == 'n':
                out.append(10)
                i += 2
            elif nxt == 't':
                out.append(9)
                i += 2
            else:
                out.append(int(text[i + 1:i + 3], 16))
                i += 3
        else:
            out.extend(ch.encode('utf-8'))
            i += 1


def binaries(text):
    """[(name, kind, bytes)] of every gpu.binary (its first object)."""
    result = []
    for m in BINARY_RE.finditer(text):
        name = m.group(1)
        j = text.find('#gpu.object<', m.end())
        if j < 0:
            continue
        # The object's payload is the first string literal after the target
        # and properties: `assembly = "..."`, `bin = "..."` or a bare "...".
        k = text.find('"', j)
        # Skip the string attributes of the target (chip, features) and the
        # properties: the payload is the string that closes the object and
        # the binary's object list, `">]` (one object per binary).
        payload = None
        while k >= 0:
            data, end = parse_string(text, k)
            if text[end:end + 2] == '>]':
                payload = data
                break
            k = text.find('"', end)
        if payload is None:
            continue
        if payload.startswith(b'\x7fELF'):
            kind = 'elf'
        elif payload[:4] == b'\x50\xed\x55\xba':
            kind = 'fatbin'
        else:
            kind = 'ptx'
        result.append((name, kind, payload))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('input', nargs='?', default='-')
    ap.add_argument('-o', '--output-dir')
    ap.add_argument('--summary', action='store_true')
    args = ap.parse_args()
    text = sys.stdin.read() if args.input == '-' else open(args.input).read()
    found = binaries(text)
    if not found:
        print('error: no gpu.binary found', file=sys.stderr)
        return 1
    ext = {'ptx': '.ptx', 'elf': '.cubin', 'fatbin': '.fatbin'}
    for name, kind, data in found:
        if args.output_dir:
            os.makedirs(args.output_dir, exist_ok=True)
            with open(os.path.join(args.output_dir, name + ext[kind]), 'wb') as f:
                f.write(data)
        elif args.summary:
            print('%s %s %d' % (name, kind, len(data)))
        else:
            print('// gpu.binary @%s (%s)' % (name, kind))
            if kind == 'ptx':
                sys.stdout.write(data.decode('utf-8', 'replace'))
            print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
