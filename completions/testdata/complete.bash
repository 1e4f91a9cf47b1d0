# Runs bash-completion's completion of a command (postmulti,
# postfix-instances: the first WORD) for one command line and prints what it
# offers. Usage: bash --norc --noprofile complete.bash FRAMEWORK SCRIPT
# WORD... (the words up to the cursor; the last is the one completed).
# Prints "reply:WORD" for each COMPREPLY entry and "compopt:ARGS" for each
# compopt call.
framework=$1 script=$2
shift 2

# shellcheck source=/dev/null
source "$framework" || exit 1
# shellcheck source=/dev/null
source "$script" || exit 1

# compopt changes the completion readline is running; there is none here
# (bash would fail with "not currently executing completion function"),
# so record the call instead.
compopt() {
    local IFS=' ' # bash-completion's functions set IFS to a newline
    printf 'compopt:%s\n' "$*"
}

# A command with a completion of its own, for the words after -x.
complete -W 'alpha beta' pmtestcmd

COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
COMP_KEY=9

# Call the function the script registered for the command, as readline would.
spec=$(complete -p "${COMP_WORDS[0]}") || exit 1
read -r -a spec <<<"$spec"
func=
for ((k = 0; k < ${#spec[@]} - 1; k++)); do
    [[ ${spec[k]} == -F ]] && func=${spec[k + 1]}
done
if [[ -z $func ]]; then
    echo "complete.bash: no -F function in: ${spec[*]}" >&2
    exit 1
fi
COMPREPLY=()
"$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
for w in "${COMPREPLY[@]}"; do
    printf 'reply:%s\n' "$w"
done
