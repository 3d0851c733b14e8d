"""`python -m bench`: see bench.cli."""

from bench.cli import main, prepare_environment

if __name__ == "__main__":
    prepare_environment()
    raise SystemExit(main())
