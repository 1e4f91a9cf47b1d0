# bash completion for postmulti(1)                          -*- shell-script -*-
# Install as /usr/share/bash-completion/completions/postmulti.

_postmulti_list()
{
    # Column 1 is the name, 2 the group, 4 the config directory; "-" is empty.
    postmulti -l 2>/dev/null | awk -v c="$1" '$c != "-" { print $c }'
}

_postmulti()
{
    local cur prev words cword
    _init_completion || return

    # Parse the words before the cursor as getopt(3) does with postmulti's
    # "+ae:g:i:G:I:lpRvx": options may be clustered (-av), e g i G I take
    # an argument (attached, -gmta, or the next word), and parsing stops at
    # "--" or at the first non-option. mode is the last of -e -l -p -x;
    # optarg is the option whose argument the current word is; i ends as
    # the index of the first operand.
    local i j w c mode='' optarg='' ended=''
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $w == -- ]]; then
            ((i++))
            ended=1
            break
        fi
        [[ $w == -?* ]] || break
        for ((j = 1; j < ${#w}; j++)); do
            c=${w:j:1}
            case $c in
                [lpx]) mode=$c ;;
                [egiGI])
                    [[ $c == e ]] && mode=e
                    if ((j == ${#w} - 1)); then
                        ((i++))
                        ((i == cword)) && optarg=$c
                    fi
                    break ;;
            esac
        done
    done

    case $optarg in
        e)
            COMPREPLY=($(compgen -W 'init create import deport destroy enable
                disable assign' -- "$cur"))
            return ;;
        i)
            COMPREPLY=($(compgen -W "- $(_postmulti_list 1) $(_postmulti_list 4)" -- "$cur"))
            return ;;
        g)
            COMPREPLY=($(compgen -W "$(_postmulti_list 2 | sort -u)" -- "$cur"))
            return ;;
        G)
            COMPREPLY=($(compgen -W "- $(_postmulti_list 2 | sort -u)" -- "$cur"))
            return ;;
        I)
            COMPREPLY=($(compgen -W "- postfix-" -- "$cur"))
            compopt -o nospace
            return ;;
    esac

    # Still among the options: offer them for a word that starts with "-",
    # and for an empty word unless a mode that wants operands was given.
    if ((i == cword)) && [[ ! $ended ]] &&
        [[ $cur == -* || $mode != [epx] ]]; then
        COMPREPLY=($(compgen -W '-a -e -g -i -G -I -l -p -R -v -x --help' -- "$cur"))
        return
    fi

    # The operands: words[i] is the first one.
    case $mode in
        x)
            # The command to run per instance, then its own arguments.
            _command_offset $i ;;
        p)
            ((i == cword)) &&
                COMPREPLY=($(compgen -W 'start stop reload status flush check
                    abort drain quick-stop set-permissions
                    upgrade-configuration logrotate' -- "$cur")) ;;
        e)
            COMPREPLY=($(compgen -W 'config_directory= queue_directory=
                data_directory=' -- "$cur"))
            compopt -o nospace ;;
    esac
} &&
    complete -F _postmulti postmulti
