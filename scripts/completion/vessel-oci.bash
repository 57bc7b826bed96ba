# bash completion for vessel-oci(8): global options, commands, each
# command's options, and container ids from `vessel-oci list -q`.
_vessel_oci_ids()
{
	local root=() i
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		if [[ ${COMP_WORDS[i]} == --root ]]; then
			root=(--root "${COMP_WORDS[i+1]}")
		elif [[ ${COMP_WORDS[i]} == --root=* ]]; then
			root=(--root "${COMP_WORDS[i]#--root=}")
		fi
	done
	"${COMP_WORDS[0]}" "${root[@]}" list -q 2>/dev/null
}

_vessel_oci()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local commands="create start run exec state list kill delete pause resume ps update features spec help"
	local i cmd=""
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--root | --log | --log-format) ((i++)) ;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		--root) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		--log) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
		esac
		COMPREPLY=($(compgen -W "$commands --root --log --log-format --debug --version --help" -- "$cur"))
		return
	fi

	case $prev in
	-b | --bundle) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--console-socket | --pid-file | -p | --process | -r | --resources)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-f | --format) COMPREPLY=($(compgen -W "table json" -- "$cur")); return ;;
	esac

	local opts=""
	case $cmd in
	create) opts="--bundle --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds" ;;
	run) opts="--bundle --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds --detach --keep" ;;
	exec) opts="--console-socket --cwd --env --tty --user --additional-gids --process --detach
		--pid-file --no-new-privs --cap --preserve-fds" ;;
	list) opts="--format --quiet" ;;
	kill) opts="--all" ;;
	delete) opts="--force" ;;
	ps) opts="--format" ;;
	update) opts="--resources --memory --memory-reservation --memory-swap --kernel-memory
		--cpu-shares --cpu-quota --cpu-period --cpu-rt-runtime --cpu-rt-period
		--cpuset-cpus --cpuset-mems --pids-limit --blkio-weight" ;;
	spec) opts="--bundle --rootless" ;;
	help)
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
		return
	fi
	case $cmd in
	start | exec | state | kill | delete | pause | resume | ps | update)
		COMPREPLY=($(compgen -W "$(_vessel_oci_ids)" -- "$cur"))
		;;
	esac
}
complete -F _vessel_oci vessel-oci
