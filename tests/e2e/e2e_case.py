"""What the tests/e2e generators share: the text of values and types, and the
writer of one case file (a graph with `// E2E in/out` lines of its inputs and
expected outputs, which e2e_run reads)."""
import numpy as np


def fmt(a):
    """Values as e2e_run reads them: integers and bools exactly, floats %.9g (inf, nan)."""
    a = np.asarray(a)
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
        return " ".join(str(int(v)) for v in a.reshape(-1))
    return " ".join("%.9g" % float(v) for v in a.astype(np.float64).reshape(-1))


def tstr(dt, shape):
    return "%s[%s]" % (dt, ",".join(str(d) for d in shape))


def write_case(path, comment, source, ins, outs, body, tol=None, syms=None, max_values=None):
    """ins, outs: lists of (name, dtype, shape, values); body: node lines;
    source: the generator line after the comment."""
    lines = ["// " + l for l in comment]
    lines.append(source)
    for k, v in (syms or {}).items():
        lines.append("// E2E sym %s=%d" % (k, v))
    lines += [("// E2E in " + fmt(v)).rstrip() for _, _, _, v in ins]
    lines += [("// E2E out " + fmt(v)).rstrip() for _, _, _, v in outs]
    if tol is not None:
        lines.append("// E2E tol %g" % tol)
    for _, _, _, v in ins + outs:
        assert max_values is None or np.asarray(v).size <= max_values
    params = ", ".join("%%%s: %s" % (n, tstr(dt, s)) for n, dt, s, _ in ins)
    results = ", ".join("%s: %s" % (n, tstr(dt, s)) for n, dt, s, _ in outs)
    lines.append("graph @main(%s) -> (%s) {" % (params, results))
    lines += ["  " + l for l in body]
    lines.append("  return " + ", ".join("%" + n for n, _, _, _ in outs))
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
