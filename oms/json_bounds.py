"""How deep a JSON body may nest. Every body the portal reads (the API's, a platform's
webhook) is a few levels deep; a deeper one is refused before anything walks it, since
Python's parser, repr() and serializers recurse and raise RecursionError near 1,000."""

import json

MAX_JSON_DEPTH = 32


def nesting_depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (counted without
    recursion, and no further than one level past the limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                children = node.values() if isinstance(node, dict) else node
                stack.extend((child, depth + 1) for child in children)
    return deepest


def loads(body: bytes | str):
    """json.loads, with ValueError for a body nested deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise ValueError("The JSON is nested too deeply.") from None
    if nesting_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
    return value
