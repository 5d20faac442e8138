# Sourced by the other scripts: enter ./.venv, creating it when needed.
# Inside an already active virtual environment, that one is used.
if [ -z "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv || {
            echo "nassim: could not create .venv; install the venv module (sudo apt-get install -y python3-venv)" >&2
            exit 2
        }
        .venv/bin/python -m pip install -q --upgrade pip
    fi
    # shellcheck disable=SC1091
    source .venv/bin/activate
fi
