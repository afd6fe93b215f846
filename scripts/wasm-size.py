#!/usr/bin/env python3
"""Where the bytes of a .wasm go, from its name section (no tool beyond Python).

    scripts/wasm-size.py FILE.wasm [--top N] [--markdown]

FILE must keep its name section (a build optimized with `wasm-opt -g`, as scripts/wasm-size.sh
makes). Prints the sections, the code grouped by crate (and by module of this crate), and the
largest functions. Shallow sizes: a function's own body, not what it calls.
"""
import re
import subprocess
import sys
from collections import defaultdict

SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "datacount"}


def leb(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def sections(buf):
    if buf[:4] != b"\0asm":
        sys.exit("not a wasm module")
    pos = 8
    while pos < len(buf):
        kind = buf[pos]
        size, body = leb(buf, pos + 1)
        yield kind, buf[body:body + size], body - pos + size
        pos = body + size


def imported_functions(body):
    count, pos = leb(body, 0)
    funcs = 0
    for _ in range(count):
        for _ in range(2):
            n, pos = leb(body, pos)
            pos += n
        kind = body[pos]
        pos += 1
        if kind == 0:
            _, pos = leb(body, pos)
            funcs += 1
        elif kind == 1:
            pos += 1
            flags, pos = leb(body, pos + 0)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 2:
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 3:
            pos += 2
    return funcs


def function_names(body):
    names = {}
    pos = 0
    n, pos = leb(body, pos)
    if body[pos:pos + n] != b"name":
        return None
    pos += n
    while pos < len(body):
        sub = body[pos]
        size, pos = leb(body, pos + 1)
        end = pos + size
        if sub == 1:
            count, p = leb(body, pos)
            for _ in range(count):
                idx, p = leb(body, p)
                ln, p = leb(body, p)
                names[idx] = body[p:p + ln].decode("utf-8", "replace")
                p += ln
        pos = end
    return names


def code_sizes(body):
    count, pos = leb(body, 0)
    sizes = []
    for _ in range(count):
        size, p = leb(body, pos)
        sizes.append(p - pos + size)
        pos = p + size
    return sizes


def demangle_all(names):
    """Rust symbols (legacy and v0) to paths without hashes: binutils' c++filt knows both; without
    it, the legacy ones are read here and v0 ones stay mangled."""
    try:
        out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                             check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        out = []
    if len(out) < len(names):
        out = [demangle(n) for n in names]
    clean = []
    for text in out[:len(names)]:
        text = re.sub(r"\[[0-9a-f]{8,}\]", "", text)
        text = re.sub(r"::h[0-9a-f]{16}$", "", text)
        clean.append(text)
    return clean


def demangle(name):
    """Legacy Rust mangling (_ZN...E) to a path without the hash; anything else unchanged."""
    if not name.startswith("_ZN"):
        return name
    pos, parts = 3, []
    while pos < len(name) and name[pos].isdigit():
        m = re.match(r"\d+", name[pos:])
        ln = int(m.group())
        pos += len(m.group())
        parts.append(name[pos:pos + ln])
        pos += ln
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    text = "::".join(parts)
    if text.startswith("_$LT$"):
        text = text[1:]
    for code, char in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$u27$", "'"),
                       ("$u5b$", "["), ("$u5d$", "]"), ("$u7b$", "{"), ("$u7d$", "}"),
                       ("$RF$", "&"), ("$BP$", "*"), ("$C$", ","), ("$LP$", "("), ("$RP$", ")"),
                       ("..", "::"), ("$u3b$", ";"), ("$u2b$", "+"), ("$u22$", '"')):
        text = text.replace(code, char)
    return text


CRATE_ALIASES = {"core": "core/alloc/std", "alloc": "core/alloc/std", "std": "core/alloc/std",
                 "__rustc": "core/alloc/std"}


PRIMITIVES = {"str", "char", "bool", "f32", "f64", "u8", "u16", "u32", "u64", "u128", "usize",
              "i8", "i16", "i32", "i64", "i128", "isize"}


def owner(path):
    """The crate a function is attributed to: for `<a::T as b::Tr>::f` the type's crate, but a
    generic instantiated with this crate's types (serde derives) counts for this crate; functions
    without a Rust path are the C side (wasi-libc, dlmalloc) or the SDK's exports."""
    if "cognigy_enrich" in path:
        m = re.search(r"cognigy_enrich::(\w+)", path)
        return "cognigy_enrich::" + (m.group(1) if m else "?")
    if "::" not in path:
        if path.startswith("proxy_on_") or path.startswith("proxy_abi_"):
            return "proxy_wasm (exports)"
        return "libc (wasi-libc, dlmalloc)"
    m = re.match(r"[<&\s*\[]*(?:dyn |mut |const )?([A-Za-z_]\w*)", path)
    crate = m.group(1) if m else "?"
    if crate in PRIMITIVES or len(crate) == 1 or crate == "?":
        crate = "core"  # a primitive's method, or a generic left without its path
    return CRATE_ALIASES.get(crate, crate)


def main():
    args = sys.argv[1:]
    top = 25
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    md = "--markdown" in args
    args = [a for a in args if a != "--markdown"]
    buf = open(args[0], "rb").read()
    total = len(buf)
    sect = defaultdict(int)
    names = None
    imports = 0
    sizes = []
    for kind, body, size in sections(buf):
        label = SECTION_NAMES.get(kind, str(kind))
        if kind == 0:
            n, p = leb(body, 0)
            label = "custom: " + body[p:p + n].decode("utf-8", "replace")
            if label == "custom: name":
                names = function_names(body)
        elif kind == 2:
            imports = imported_functions(body)
        elif kind == 10:
            sizes = code_sizes(body)
        sect[label] += size
    if names is None:
        sys.exit("no name section: optimize with `wasm-opt -g` (scripts/wasm-size.sh does)")
    shipped = total - sect.get("custom: name", 0)
    groups = defaultdict(lambda: [0, 0])
    funcs = []
    paths = demangle_all([names.get(imports + i, f"func[{imports + i}]") for i in range(len(sizes))])
    for size, path in zip(sizes, paths):
        groups[owner(path)][0] += size
        groups[owner(path)][1] += 1
        funcs.append((size, path))
    row = (lambda *c: "| " + " | ".join(str(x) for x in c) + " |") if md else \
        (lambda *c: "  ".join(f"{str(x):>10}" if i else f"{str(x):<60}" for i, x in enumerate(c)))
    pct = lambda n: f"{100.0 * n / shipped:.1f} %"
    print(f"{args[0]}: {shipped} bytes without the name section ({total} with it)\n")
    print(row("section", "bytes", "share"))
    if md:
        print("| --- | ---: | ---: |")
    for label, size in sorted(sect.items(), key=lambda kv: -kv[1]):
        if label != "custom: name":
            print(row(label, size, pct(size)))
    print()
    print(row("code by crate (this crate by module)", "bytes", "share", "functions"))
    if md:
        print("| --- | ---: | ---: | ---: |")
    for label, (size, count) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        print(row(label, size, pct(size), count))
    print()
    print(row(f"largest {top} functions", "bytes", "share"))
    if md:
        print("| --- | ---: | ---: |")
    for size, path in sorted(funcs, reverse=True)[:top]:
        shown = path if len(path) <= 110 else path[:107] + "..."
        print(row(shown.replace("|", "\\|") if md else shown, size, pct(size)))


if __name__ == "__main__":
    main()
