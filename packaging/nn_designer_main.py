"""Entry script of the bundled executable: the same `designer.cli:main` as the installed `nn-designer` command."""
import multiprocessing
import sys

if __name__ == "__main__":
    # First, before anything else: a frozen program that starts worker processes (the image loader's spawned
    # decoding pool, torch DataLoader workers) must let them run their task instead of starting the app again.
    multiprocessing.freeze_support()
    from designer.cli import main

    sys.exit(main())
