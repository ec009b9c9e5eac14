"""Checks that every `posthog` name a Python file uses exists in the installed SDK.

Usage: python check_posthog_names.py FILE...  (run with the venv holding the
pinned `posthog`). Each file is compiled (a syntax error fails), then:
  * `import posthog…` / `from posthog… import X` must import, and X must exist;
  * every attribute chain on the module (`posthog.capture`,
    `posthog.integrations.django`) must resolve;
  * every call of such a name must accept its keyword arguments and its count
    of positional ones (`inspect.signature(...).bind`, and the keys of a
    `**kwargs: Unpack[TypedDict]`, which is how `posthog.capture` takes its options);
  * every dotted string starting with `posthog.` (Django's MIDDLEWARE entries)
    must resolve to an object.
Prints one line per problem and exits 1 when there is any.
"""

import ast
import importlib
import inspect
import sys
import typing


def resolve(dotted):
    """The object a dotted `posthog…` path names, importing submodules on the way."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def dotted_name(node, aliases):
    """`posthog.a.b` for an attribute chain rooted at a name bound to posthog."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id]] + list(reversed(parts)))
    return None


def typed_kwargs(target, signature):
    """The keys of a `**kwargs: Unpack[SomeTypedDict]` parameter, or None."""
    extra = [p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
    if not extra:
        return None
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable hints: no typed kwargs to check
        return None
    hint = hints.get(extra[0].name)
    # `typing.Unpack` or `typing_extensions.Unpack`, whichever the SDK used.
    if hint is None or not repr(typing.get_origin(hint)).endswith("Unpack"):
        return None
    (td,) = typing.get_args(hint)
    return set(getattr(td, "__required_keys__", set())) | set(getattr(td, "__optional_keys__", set()))


def check(path, problems):
    source = open(path, encoding="utf-8").read()
    try:
        tree = ast.parse(source, filename=path)
        compile(tree, path, "exec")
    except SyntaxError as e:
        problems.append(f"{path}: does not compile: {e}")
        return 0
    aliases = {}
    used = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "posthog" or a.name.startswith("posthog."):
                    aliases[(a.asname or a.name).split(".")[0]] = (
                        a.name if a.asname else "posthog"
                    )
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "posthog":
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    checked = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Attribute):
            names.append(dotted_name(node, aliases))
        elif isinstance(node, ast.Name) and node.id in aliases:
            names.append(aliases[node.id])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("posthog.") and " " not in node.value:
                names.append(node.value)
        for name in names:
            if name is None or name in checked:
                continue
            checked.add(name)
            used += 1
            try:
                resolve(name)
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                problems.append(f"{path}:{node.lineno}: {name} does not exist ({e})")
        if isinstance(node, ast.Call):
            name = dotted_name(node.func, aliases) if not isinstance(node.func, ast.Name) else aliases.get(node.func.id)
            if name is None or any(k.arg is None for k in node.keywords):
                continue
            if any(isinstance(a, ast.Starred) for a in node.args):
                continue
            try:
                target = resolve(name)
                signature = inspect.signature(target)
            except Exception:  # noqa: BLE001 - reported above, or not introspectable
                continue
            keywords = [k.arg for k in node.keywords]
            try:
                signature.bind(*[None] * len(node.args), **{k: None for k in keywords})
            except TypeError as e:
                problems.append(f"{path}:{node.lineno}: {name}(…) does not take these arguments: {e}")
                continue
            typed = typed_kwargs(target, signature)
            if typed is not None:
                named = {p.name for p in signature.parameters.values()}
                for k in keywords:
                    if k not in named and k not in typed:
                        problems.append(f"{path}:{node.lineno}: {name}(…) has no keyword argument {k!r}")
    return used


def main():
    problems = []
    used = sum(check(path, problems) for path in sys.argv[1:])
    for p in problems:
        print(p)
    print(f"checked {used} posthog names in {len(sys.argv) - 1} files")
    sys.exit(1 if problems else 0)


main()
