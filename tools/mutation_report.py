"""Write docs/mutation-survivors.md from a mutmut run and the equivalents file.

    python tools/mutation_report.py [--stage DIR] [--equivalents FILE] [--out FILE] [--check]

(or `bash tools/mutation.sh report`). It asks mutmut, in the stage dir of
tools/mutation.sh, for every mutant's verdict (`mutmut results --all true`)
and for each survivor's diff (`mutmut show NAME`), then sorts the survivors
into the equivalence classes of docs/mutation-equivalents.toml. A survivor
that the file does not name, or whose mutated line is no longer the one the
file recorded (the code changed and mutmut renumbered its mutants), is
"Open". Entries that name no survivor any more are listed as stale, so the
file does not keep reasons for mutants that are gone.

--check: exit 1 when a survivor is open or an entry is stale.
"""
import argparse
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DETECTED = {'killed', 'timeout', 'segfault', 'caught by type check'}


# `mutmut show NAME` for many names in one process (a process each takes ~1 s).
SHOW_ALL = """
import contextlib, io, sys
from mutmut.__main__ import cli
for name in sys.stdin.read().split():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli(['show', name], standalone_mode=False)
    sys.stdout.write(out.getvalue() + '\\n' + MARK + '\\n')
"""
MARK = '@@@ end of mutant @@@'


def show_all(stage, names):
    """{name: the text of `mutmut show name`}."""
    code = 'MARK = ' + repr(MARK) + '\n' + SHOW_ALL
    done = subprocess.run([sys.executable, '-c', code], cwd=stage, input='\n'.join(names),
                          capture_output=True, text=True, check=True)
    texts = done.stdout.split(MARK + '\n')
    return dict(zip(names, texts))


def mutmut_cmd():
    here = Path(sys.executable).parent / 'mutmut'
    return [str(here)] if here.exists() else ['mutmut']


def run_mutmut(stage, args):
    done = subprocess.run(mutmut_cmd() + args, cwd=stage, capture_output=True, text=True,
                          check=True)
    return done.stdout


def parse_results(text):
    """'    core.x.x_f__mutmut_3: survived' lines -> {name: status}."""
    verdicts = {}
    for line in text.splitlines():
        m = re.match(r'^\s*(\S+__mutmut_\d+): (.+)$', line)
        if m:
            verdicts[m.group(1)] = m.group(2).strip()
    return verdicts


def parse_diff(text):
    """The changed lines of a `mutmut show` diff, as [('-', line), ('+', line)], stripped."""
    changed = []
    for line in text.splitlines():
        if line.startswith('---') or line.startswith('+++') or line.startswith('#'):
            continue
        if line.startswith('-') or line.startswith('+'):
            changed.append((line[0], line[1:].strip()))
    return changed


def mutated_line(changed):
    """The mutant's own line (the first '+'), or '' when the mutant deletes a line."""
    for sign, line in changed:
        if sign == '+':
            return line
    return ''


def function_of(name):
    """'core.pool.xǁPoolǁpick__mutmut_3' -> ('core.pool.Pool.pick', 3)."""
    base, number = name.rsplit('__mutmut_', 1)
    module, func = base.rsplit('.', 1)
    if func.startswith('xǁ'):
        parts = func[2:].split('ǁ')
        func = parts[0] + '.' + parts[1]
    elif func.startswith('x_'):
        func = func[2:]
    return module + '.' + func, int(number)


def load_equivalents(path):
    data = tomllib.loads(path.read_text(encoding='utf-8'))
    return data.get('classes', {}), data.get('mutants', {})


def classify(survivors, diffs, classes, entries):
    """{class id or 'open': [name]} and the stale entries [(name, why)]."""
    groups = {cid: [] for cid in classes}
    groups['open'] = []
    notes = {}
    for name in survivors:
        entry = entries.get(name)
        if entry is None:
            groups['open'].append(name)
            continue
        cid = entry.get('class')
        if cid not in classes:
            groups['open'].append(name)
            notes[name] = 'the equivalents file names an unknown class ' + str(cid)
            continue
        want = entry.get('line')
        got = mutated_line(diffs[name])
        if want is not None and want.strip() != got:
            groups['open'].append(name)
            notes[name] = 'the equivalents file recorded another line: ' + want.strip()
            continue
        groups[cid].append(name)
    stale = [(n, 'not a survivor of this run') for n in entries if n not in survivors]
    return groups, notes, stale


def block(names, diffs, entries, notes):
    """Markdown for one group: its mutants by function, with their diff and reason."""
    out = []
    by_func = {}
    for name in names:
        func, number = function_of(name)
        by_func.setdefault(func, []).append((number, name))
    for func in sorted(by_func):
        items = sorted(by_func[func])
        out.append(f'### `{func}` ({len(items)})')
        out.append('```diff')
        for number, name in items:
            reason = entries.get(name, {}).get('reason')
            note = notes.get(name)
            head = f'# {number}'
            if reason and name not in notes:
                head += ': ' + reason
            if note:
                head += ' (' + note + ')'
            out.append(head)
            for sign, line in diffs[name]:
                out.append(f'{sign} {line}')
        out.append('```')
        out.append('')
    return out


def render(verdicts, diffs, classes, entries, groups, notes, stale, commit):
    total = len(verdicts)
    killed = sum(1 for s in verdicts.values() if s == 'killed')
    timeout = sum(1 for s in verdicts.values() if s == 'timeout')
    other = sum(1 for s in verdicts.values() if s in DETECTED) - killed - timeout
    survived = total - killed - timeout - other
    equivalent = survived - len(groups['open'])
    detected = killed + timeout + other
    score = 100.0 * detected / total if total else 0.0
    real = total - equivalent
    score_real = 100.0 * detected / real if real else 0.0
    lines = [
        '# Mutation survivors of extension_src/core',
        '',
        'Generated by `bash tools/mutation.sh report` (tools/mutation_report.py) from the',
        'stage dir of `tools/mutation.sh` and [mutation-equivalents.toml](mutation-equivalents.toml):',
        'every mutant that survived, with the line it changed (`-` the original, `+` the',
        'mutant), in its equivalence class or under "Open". Do not edit by hand: classify a',
        'survivor in the equivalents file (or kill it with a test), then rerun the report.',
        '',
        f'Run: {commit}. Mutants {total}: killed {killed}, timeout {timeout}'
        + (f', other detections {other}' if other else '')
        + f', survived {survived} (equivalent {equivalent}, open {len(groups["open"])}).',
        f'Score {detected} / {total} = {score:.1f} %; without the equivalent ones'
        f' {detected} / {real} = {score_real:.1f} %.',
        '',
    ]
    for cid in classes:
        names = groups[cid]
        title = classes[cid].get('title', cid)
        lines.append(f'## {cid}: {title} ({len(names)})')
        lines.append('')
        why = classes[cid].get('why')
        if why:
            lines.append(why.strip())
            lines.append('')
        lines.extend(block(names, diffs, entries, notes))
    lines.append(f'## Open: not killed, not equivalent ({len(groups["open"])})')
    lines.append('')
    odd = [n for n in groups['open'] if verdicts[n] != 'survived']
    for n in odd:
        notes[n] = (notes.get(n, '') + ' ' if n in notes else '') + 'status: ' + verdicts[n]
    lines.extend(block(groups['open'], diffs, entries, notes))
    if stale:
        lines.append(f'## Stale entries of the equivalents file ({len(stale)})')
        lines.append('')
        for name, why in stale:
            lines.append(f'- `{name}`: {why}')
        lines.append('')
    return '\n'.join(lines).rstrip() + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--stage', default=os.environ.get('KEYPOOL_MUTATION_DIR',
                                                      str(ROOT / 'build' / 'mutation')))
    ap.add_argument('--equivalents', default=str(ROOT / 'docs' / 'mutation-equivalents.toml'))
    ap.add_argument('--out', default=str(ROOT / 'docs' / 'mutation-survivors.md'))
    ap.add_argument('--commit', default=None, help='what the run measured (default: git HEAD)')
    ap.add_argument('--check', action='store_true')
    args = ap.parse_args(argv)
    stage = Path(args.stage)
    verdicts = parse_results(run_mutmut(stage, ['results', '--all', 'true']))
    if not verdicts:
        print('no mutmut results in ' + str(stage), file=sys.stderr)
        return 2
    survivors = sorted(n for n, s in verdicts.items() if s not in DETECTED)
    diffs = {n: parse_diff(t) for n, t in show_all(stage, survivors).items()}
    classes, entries = load_equivalents(Path(args.equivalents))
    groups, notes, stale = classify(survivors, diffs, classes, entries)
    commit = args.commit
    if commit is None:
        commit = subprocess.run(['git', 'log', '-1', '--format=%h (%cs)'], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    text = render(verdicts, diffs, classes, entries, groups, notes, stale, commit)
    Path(args.out).write_text(text, encoding='utf-8')
    for line in text.splitlines():
        if line.startswith('Run: ') or line.startswith('Score '):
            print(line, file=sys.stderr)
    if args.check and (groups['open'] or stale):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
