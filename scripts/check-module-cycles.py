#!/usr/bin/env python3
"""Checks that no two files of a crate import each other, except a parent
module and its children.

For each crate's `src/` (the workspace root package and `crates/*`), every
file is one module (`a.rs` and `a/mod.rs` are `a`; inline `mod x { .. }`
blocks belong to their file). An edge a.rs -> b.rs is any path from a.rs
that names an item of b.rs: `use crate::..`, `use super::..`, `use self::..`,
`use child::..`, and `crate::x::..` / `super::..` / `$crate::..` paths in
code. A path ending at an item re-exported by a module (`pub use x::Y` in
lib.rs or a mod.rs) is followed to the module that defines it, so
`use crate::Pid` names pid.rs, not lib.rs.

Not counted: comments and doc links (they do not shape the build), edges
between a parent module and its direct children, and binary roots
(`main.rs`, `src/bin/`), which are crates of their own. `#[cfg(test)]`
items count like any code: a unit test that drives its module through the
crate's higher layers lives in a child file (`mailbox/tests.rs`), which the
parent only declares.

A cycle is a strongly connected set of two or more files. Known cycles
being fixed elsewhere are listed in scripts/module-cycles-allowed.txt, one
`crate: a.rs <-> b.rs` per line (`#` starts a comment); they are printed as
warnings. Exits 1 if any other cycle remains, printing it.

Usage: python3 scripts/check-module-cycles.py [WORKSPACE_DIR]
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# ===== source cleaning =====


def strip_comments_and_literals(text):
    """`text` with comments, strings and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return re.sub(r"[^\n]", " ", s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:i + 300])) and (
            i == 0 or not re.match(r"\w", text[i - 1])
        ):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(blank(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(blank(text[i:j]))
            i = j
        elif c == "'" and (m := re.match(r"'(\\(x..|u\{[0-9a-fA-F]*\}|.)|[^\\'])'", text[i:i + 12])):
            out.append(" " * m.end())
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ===== use trees =====


def split_top(s):
    parts, depth, cur = [], 0, []
    for c in s:
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree):
    """Paths (lists of segments) of a use tree; `{..}` groups expanded,
    `as` renames kept as (path, alias)."""
    tree = re.sub(r"\s+", " ", tree).strip()
    if tree.startswith("::"):
        tree = tree[2:]
    brace = tree.find("{")
    if brace >= 0:
        prefix = [s.strip() for s in tree[:brace].split("::") if s.strip()]
        inner = tree[brace + 1: tree.rfind("}")]
        out = []
        for part in split_top(inner):
            for path, alias in expand_use(part):
                if path == ["self"]:
                    out.append((prefix, alias or (prefix[-1] if prefix else None)))
                else:
                    out.append((prefix + path, alias))
        return out
    alias = None
    if m := re.match(r"(.*?)\s+as\s+(" + IDENT + ")$", tree):
        tree, alias = m.group(1), m.group(2)
    segs = [s.strip() for s in tree.split("::") if s.strip()]
    return [(segs, alias)]


# ===== one crate =====


class Crate:
    def __init__(self, name, src):
        self.name, self.src = name, src
        self.files = {}  # module path (tuple) -> file (relative str)
        self.inline = {}  # module path of an inline mod -> file
        self.uses = {}  # module path -> {name: (module path, segments)}
        self.refs = []  # (file, module path, segments)
        for path in sorted(src.rglob("*.rs")):
            rel = path.relative_to(src).as_posix()
            if rel in ("main.rs",) or rel.startswith("bin/"):
                continue
            parts = rel[:-3].split("/")
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            self.files[tuple(parts)] = rel
        for mod, rel in list(self.files.items()):
            self.scan(rel, mod, (src / rel).read_text(encoding="utf-8"))

    def scan(self, rel, mod, text):
        text = strip_comments_and_literals(text)
        token = re.compile(
            r"\bmod\s+(?P<mod>" + IDENT + r")\s*\{"
            r"|\buse\s+(?P<use>[^;]*);"
            r"|(?P<path>(?<![\w:])(?:\$crate|crate|super|self)(?:\s*::\s*" + IDENT + r")+)"
            r"|(?P<open>\{)|(?P<close>\})"
        )
        stack, depth = [], 0  # inline mods: (name, depth at which it closes)
        for m in token.finditer(text):
            here = mod + tuple(name for name, _ in stack)
            if m.group("mod"):
                stack.append((m.group("mod"), depth))
                depth += 1
                self.inline[here + (m.group("mod"),)] = rel
            elif m.group("open"):
                depth += 1
            elif m.group("close"):
                depth -= 1
                if stack and stack[-1][1] == depth:
                    stack.pop()
            elif m.group("use") is not None:
                for segs, alias in expand_use(m.group("use")):
                    if not segs or segs[-1] == "*":
                        segs = segs[:-1]
                    if not segs:
                        continue
                    self.refs.append((rel, here, segs))
                    name = alias or segs[-1]
                    if name not in ("self", "super", "crate", "_"):
                        self.uses.setdefault(here, {})[name] = (here, segs)
            else:
                segs = [s.strip() for s in m.group("path").split("::")]
                self.refs.append((rel, here, segs))

    def is_module(self, path):
        return path in self.files or path in self.inline

    def file_of(self, path):
        while path not in self.files:
            if path in self.inline:
                return self.inline[path]
            path = path[:-1]
        return self.files[path]

    def resolve(self, here, segs, seen=()):
        """The file that `segs`, written in module `here`, names; None for
        another crate."""
        first = segs[0]
        if first in ("crate", "$crate"):
            cur, rest = (), segs[1:]
        elif first in ("super", "self"):
            cur, rest = here, segs
        elif self.is_module(here + (first,)):
            cur, rest = here, segs
        else:
            return None
        for i, seg in enumerate(rest):
            if seg == "self":
                continue
            if seg == "super":
                cur = cur[:-1]
                continue
            if self.is_module(cur + (seg,)):
                cur = cur + (seg,)
                continue
            # An item of `cur`: follow a re-export to where it is defined.
            use = self.uses.get(cur, {}).get(seg)
            if use and (cur, seg) not in seen:
                target = self.resolve(use[0], use[1], seen + ((cur, seg),))
                if target:
                    return target
            break
        return self.file_of(cur)

    def graph(self):
        edges = {rel: set() for rel in self.files.values()}
        for rel, here, segs in self.refs:
            target = self.resolve(here, segs)
            if target and target != rel:
                edges[rel].add(target)
        return edges

    def parent_child(self, a, b):
        mod = {rel: path for path, rel in self.files.items()}
        pa, pb = mod[a], mod[b]
        return pa == pb[:-1] or pb == pa[:-1]


# ===== cycles =====


def sccs(edges):
    """Tarjan's strongly connected components of two or more nodes."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def a_cycle(edges, comp):
    """One shortest cycle through the first file of `comp`, as a path."""
    start, members = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def load_allowed(path):
    allowed = set()
    if not path.exists():
        return allowed
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([\w.-]+)\s*:\s*(\S+)\s*<->\s*(\S+)", line)
        if not m:
            sys.exit(f"{path}:{n}: expected `crate: a.rs <-> b.rs`, got {line!r}")
        allowed.add((m.group(1), frozenset((m.group(2), m.group(3)))))
    return allowed


def crates(root):
    found = []
    if (root / "src/lib.rs").exists():
        found.append((package_name(root), root / "src"))
    for d in sorted((root / "crates").glob("*/src")):
        found.append((d.parent.name, d))
    return found


def package_name(dir):
    text = (dir / "Cargo.toml").read_text()
    m = re.search(r'^\[package\][^\[]*?^name\s*=\s*"([^"]+)"', text, re.M | re.S)
    return m.group(1) if m else dir.name


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    allowed = load_allowed(root / "scripts/module-cycles-allowed.txt")
    failed, checked = False, 0
    for name, src in crates(root):
        crate = Crate(name, src)
        edges = crate.graph()
        checked += len(edges)
        for a in edges:
            edges[a] = {b for b in edges[a] if not crate.parent_child(a, b)}
        # Allowed pairs lose both their edges; what still cycles fails.
        for a in sorted(edges):
            for b in sorted(edges[a]):
                if (name, frozenset((a, b))) in allowed and a < b and a in edges[b]:
                    print(f"warning: {name}: {a} <-> {b} (allowed in module-cycles-allowed.txt)")
        for crate_name, pair in sorted(allowed, key=lambda p: (p[0], sorted(p[1]))):
            a, b = sorted(pair)
            if crate_name == name and not (b in edges.get(a, ()) and a in edges.get(b, ())):
                print(f"note: {name}: {a} <-> {b} is allowed but no longer a cycle: remove it from the list")
        pruned = {
            a: {b for b in bs if (name, frozenset((a, b))) not in allowed} for a, bs in edges.items()
        }
        for comp in sccs(pruned):
            failed = True
            cycle = a_cycle(pruned, comp)
            print(f"error: {name}: import cycle: {' -> '.join(cycle)}")
            if len(comp) > len(cycle) - 1:
                print(f"  (all files of this cycle: {', '.join(comp)})")
    if failed:
        print("module cycles found: split the shared part into a module both can import")
        return 1
    print(f"no module cycles ({checked} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
