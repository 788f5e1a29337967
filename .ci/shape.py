#!/usr/bin/env python3
"""The code-shape rules of issue 14, kept true: no source file over 700 lines (tests aside), no HTTP handler
over 40 lines, no module of a crate that imports a module importing it back, no too_many_arguments allowance.
Prints each breach and exits 1 if there is one."""
import glob, os, re, sys

MAX_FILE, MAX_HANDLER = 700, 40
breaches = []


def code_of(path):
    """The file's text before its tests, comments stripped."""
    text = open(path).read().split('#[cfg(test)]')[0]
    return '\n'.join(line.split('//')[0] for line in text.split('\n'))


for f in sorted(glob.glob('crates/*/src/**/*.rs', recursive=True)):
    n = len(open(f).read().split('#[cfg(test)]')[0].rstrip('\n').split('\n'))
    if n > MAX_FILE:
        breaches.append(f'{f}: {n} lines (at most {MAX_FILE}, tests aside)')
    if 'too_many_arguments' in code_of(f):
        breaches.append(f'{f}: allows clippy::too_many_arguments (take a struct)')

# Handlers: the async functions of the HTTP layer's resource modules.
for f in sorted(glob.glob('crates/oversight-api/src/routes/*.rs')):
    lines = open(f).read().split('#[cfg(test)]')[0].split('\n')
    for i, line in enumerate(lines):
        m = re.match(r'^pub(\(crate\))? async fn (\w+)', line)
        if not m:
            continue
        end = next((j for j in range(i, len(lines)) if lines[j] == '}'), len(lines) - 1)
        if end - i + 1 > MAX_HANDLER:
            breaches.append(f'{f}: handler {m.group(2)} is {end - i + 1} lines (at most {MAX_HANDLER})')


def module_name(src, path):
    rel = os.path.relpath(path, src)[:-3]
    if rel in ('lib', 'main'):
        return ''
    return (rel[:-4] if rel.endswith('/mod') else rel).replace('/', '::')


def use_paths(body):
    """`a::{b, c::d}` -> [a::b, a::c::d] (nested groups too)."""
    m = re.match(r'([\w:]*)\{(.*)\}$', body, re.S)
    if not m:
        return [body]
    out, depth, cur = [], 0, ''
    for ch in m.group(2):
        depth += ch == '{'
        depth -= ch == '}'
        if ch == ',' and depth == 0:
            out += use_paths(m.group(1) + cur)
            cur = ''
        else:
            cur += ch
    return out + (use_paths(m.group(1) + cur) if cur.strip() else [])


for src in sorted(glob.glob('crates/*/src')):
    files = {module_name(src, f): f for f in glob.glob(src + '/**/*.rs', recursive=True)}
    deps = {}
    for name, f in files.items():
        text = code_of(f)
        parent = name.rsplit('::', 1)[0] if '::' in name else ''
        inline = set(re.findall(r'^\s*(?:pub(?:\([\w:]+\))? )?mod (\w+) \{', text, re.M))

        def module_of(path):
            parts = [p for p in path.split('::') if p not in ('', '*', 'self')]
            return next(('::'.join(parts[:k]) for k in range(len(parts), 0, -1) if '::'.join(parts[:k]) in files), None)

        found = set()
        paths = [p for m in re.finditer(r'\buse\s+([^;]+);', text) for p in use_paths(re.sub(r'\s+', '', m.group(1)))]
        paths += re.findall(r'(?<![\w:])((?:crate|super)(?:::\w+)+)', text)
        for p in paths:
            p = p.split(' as ')[0]
            if p.startswith('crate::'):
                found.add(module_of(p[7:]))
            elif p.startswith('super::') and not inline:
                target = module_of((parent + '::' if parent else '') + p[7:])
                found.add(target if target not in (None, name) else parent)
        prefix = name + '::' if name else ''
        for child in re.findall(r'(?<![\w:])(\w+)::', text):
            if prefix + child in files:
                found.add(prefix + child)
        deps[name] = {d for d in found if d is not None and d != name}
    # Strongly connected components of more than one module are cycles.
    index, low, stack, on, counter = {}, {}, [], set(), [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in deps[v]:
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
                names = ', '.join(sorted(c or '(crate root)' for c in comp))
                breaches.append(f'{src}: modules that import each other: {names}')

    for v in deps:
        if v not in index:
            visit(v)

for b in breaches:
    print(b)
sys.exit(1 if breaches else 0)
