# Sourced by the training recipes: `train_or_resume OUT CONFIG INIT ARGS...` starts the run in OUT
# from CONFIG (warm-started from INIT unless it is empty), or resumes it when OUT/latest exists.
train_or_resume() {
    local out=$1 config=$2 init=$3
    shift 3
    if [ -d "$out/latest" ]; then
        ${VIMSS:-.venv/bin/vimss} train --out "$out" "$@" --resume
    elif [ -n "$init" ]; then
        ${VIMSS:-.venv/bin/vimss} train --out "$out" "$@" --config "$config" --init "$init"
    else
        ${VIMSS:-.venv/bin/vimss} train --out "$out" "$@" --config "$config"
    fi
}
