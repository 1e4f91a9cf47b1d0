# fish completion for postmulti(1).
# Install as /usr/share/fish/vendor_completions.d/postmulti.fish.

function __postmulti_col
    postmulti -l 2>/dev/null | awk -v c=$argv[1] '$c != "-" { print $c }'
end

# Parse the tokens before the cursor as getopt(3) does with postmulti's
# "+ae:g:i:G:I:lpRvx": options may be clustered (-av), e g i G I take an
# argument (attached, -gmta, or the next token), and parsing stops at "--"
# or at the first non-option. Prints three lines: where the current token
# stands ("optarg": the argument of an option; "options": an option or the
# first operand; "operands": options have ended), the mode (the last of
# e l p x, or empty), then the operands before the current token, if any.
function __postmulti_parse
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l mode
    set -l where options
    while set -q tokens[1]
        set -l t $tokens[1]
        if test "$t" = --
            set -e tokens[1]
            set where operands
            break
        end
        if not string match -qr -- '^-.' $t
            set where operands
            break
        end
        set -e tokens[1]
        set -l chars (string split '' -- (string sub -s 2 -- $t))
        set -l n 0
        for c in $chars
            set n (math $n + 1)
            switch $c
                case l p x
                    set mode $c
                case e g i G I
                    test $c = e; and set mode e
                    if test $n -eq (count $chars)
                        # The argument is the next token, or the current one.
                        if set -q tokens[1]
                            set -e tokens[1]
                        else
                            set where optarg
                        end
                    end
                    break
            end
        end
    end
    printf '%s\n' $where "$mode" $tokens
end

# True where an option (or an option's argument) may come.
function __postmulti_in_options
    set -l st (__postmulti_parse)
    test $st[1] != operands
end

# True where the current token is an operand in mode $argv[1]; with
# "first", only where it is the first operand.
function __postmulti_operand
    set -l st (__postmulti_parse)
    test "$st[2]" = $argv[1]; or return 1
    switch $st[1]
        case optarg
            return 1
        case options
            # Until the first operand, a token starting with "-" is an option.
            not string match -q -- '-*' (commandline -ct)
        case operands
            test "$argv[2]" != first; or test (count $st) -eq 2
    end
end

# -x: complete the command and its arguments as if typed alone.
function __postmulti_command
    set -l st (__postmulti_parse)
    set -e st[1 2]
    __fish_complete_subcommand --commandline $st (commandline -ct)
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
complete -c postmulti -n '__postmulti_operand p first' -x -a 'start stop reload status flush check abort drain quick-stop set-permissions upgrade-configuration logrotate'
complete -c postmulti -n '__postmulti_operand x' -x -a '(__postmulti_command)'
complete -c postmulti -n '__postmulti_operand e' -x -a 'config_directory= queue_directory= data_directory='
