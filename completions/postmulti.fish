# fish completion for postmulti(1).
# Install as /usr/share/fish/vendor_completions.d/postmulti.fish.

function __postmulti_col
    postmulti -l 2>/dev/null | awk -v c=$argv[1] '$c != "-" { print $c }'
end

# True before the first non-option word (getopt stops there).
function __postmulti_in_options
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -- '--'
                return 1
            case '-e' '-g' '-i' '-G' '-I'
                set skip 1
            case '-*'
            case '*'
                return 1
        end
    end
    return 0
end

function __postmulti_mode
    string match -qr -- "^-[a-zA-Z]*$argv[1]" (commandline -opc)
end

complete -c postmulti -f
complete -c postmulti -n __postmulti_in_options -s a -d 'All instances'
complete -c postmulti -n __postmulti_in_options -s e -x -a 'init create import deport destroy enable disable assign' -d 'Life-cycle action'
complete -c postmulti -n __postmulti_in_options -s g -x -a '(__postmulti_col 2 | sort -u)' -d 'Instances of a group'
complete -c postmulti -n __postmulti_in_options -s i -x -a '(echo -; __postmulti_col 1; __postmulti_col 4)' -d 'One instance'
complete -c postmulti -n __postmulti_in_options -s G -x -a '(echo -; __postmulti_col 2 | sort -u)' -d 'Assign a group'
complete -c postmulti -n __postmulti_in_options -s I -x -a '- postfix-' -d 'Assign a name'
complete -c postmulti -n __postmulti_in_options -s l -d 'List instances'
complete -c postmulti -n __postmulti_in_options -s p -d 'Run a postfix command'
complete -c postmulti -n __postmulti_in_options -s x -d 'Run a command per instance'
complete -c postmulti -n __postmulti_in_options -s R -d 'Reverse the order'
complete -c postmulti -n __postmulti_in_options -s v -d 'Verbose'
complete -c postmulti -n __postmulti_in_options -l help -d 'Show a summary'
complete -c postmulti -n 'not __postmulti_in_options; and __postmulti_mode p' -x -a 'start stop reload status flush check abort drain quick-stop set-permissions upgrade-configuration logrotate'
complete -c postmulti -n 'not __postmulti_in_options; and __postmulti_mode x' -x -a '(__fish_complete_subcommand)'
complete -c postmulti -n 'not __postmulti_in_options; and __postmulti_mode e' -x -a 'config_directory= queue_directory= data_directory='
