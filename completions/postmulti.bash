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

    # Option parsing stops at the first non-option (getopt "+"): after the
    # command of -p or -x, complete for that command instead.
    local i mode= w
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
            --) ((i++)); break ;;
            -e) mode=e; ((i++)); continue ;;
            -[giGI]) ((i++)); continue ;;
            -*) [[ $w == *l* ]] && mode=l
                [[ $w == *p* ]] && mode=p
                [[ $w == *x* ]] && mode=x
                continue ;;
            *) break ;;
        esac
    done
    if ((i < cword)); then
        case $mode in
            x) _command_offset $i; return ;;
            p) return ;;
        esac
    fi
    if ((i == cword)) && [[ $mode == p && $cur != -* ]]; then
        COMPREPLY=($(compgen -W 'start stop reload status flush check abort
            drain quick-stop set-permissions upgrade-configuration logrotate' \
            -- "$cur"))
        return
    fi

    case $prev in
        -e)
            COMPREPLY=($(compgen -W 'init create import deport destroy enable
                disable assign' -- "$cur"))
            return ;;
        -i)
            COMPREPLY=($(compgen -W "- $(_postmulti_list 1) $(_postmulti_list 4)" -- "$cur"))
            return ;;
        -g)
            COMPREPLY=($(compgen -W "$(_postmulti_list 2 | sort -u)" -- "$cur"))
            return ;;
        -G)
            COMPREPLY=($(compgen -W "- $(_postmulti_list 2 | sort -u)" -- "$cur"))
            return ;;
        -I)
            COMPREPLY=($(compgen -W "- postfix-" -- "$cur"))
            compopt -o nospace
            return ;;
    esac

    if [[ $cur == -* || $mode != e ]]; then
        COMPREPLY=($(compgen -W '-a -e -g -i -G -I -l -p -R -v -x --help' -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -W 'config_directory= queue_directory= data_directory=' -- "$cur"))
    compopt -o nospace
} &&
    complete -F _postmulti postmulti
