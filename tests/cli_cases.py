"""Run many vcam command lines in one process, each as `vcam ARGS...` would run, and say what each
did: ``python tests/cli_cases.py CASES.json RESULTS.json``.

CASES.json is a list of {"argv": [...], "cwd": "..."}; RESULTS.json gets, for each, the exit code
``vcam.cli.main`` returned (or SystemExit's, as argparse exits), everything written to file
descriptors 1 and 2 while it ran, and the traceback of any other exception (what the console
script would print). One process for all of them: the imports, the model files and the compiled
kernels are loaded once, so a test can run a hundred command lines in the time of a few.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback


def _run(argv: list[str], cwd: str) -> dict:
    from vcam.cli import main

    os.chdir(cwd)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    crash = ""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code, crash = 1, traceback.format_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return {"argv": argv, "code": code, "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace"), "crash": crash}


def main() -> None:
    cases = json.loads(open(sys.argv[1]).read())
    results = [_run(case["argv"], case["cwd"]) for case in cases]
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
