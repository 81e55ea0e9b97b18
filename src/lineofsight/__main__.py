"""`python -m lineofsight`: the `los` command, where the script is not on the PATH."""

from lineofsight.cli.app import main

if __name__ == "__main__":
    main()
