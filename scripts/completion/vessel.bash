# bash completion for vessel(1): commands, then the options of `vm run`
# and `ct run` (file and directory names where an option takes a path).
_vessel()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local i cmd="" sub=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${words[i]}
			elif [[ -z $sub ]]; then
				sub=${words[i]}
				break
			fi
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "vm ct doctor version -v --verbose -V --version --help" -- "$cur"))
		return
	fi
	if [[ ($cmd == vm || $cmd == ct) && -z $sub ]]; then
		COMPREPLY=($(compgen -W "run --help" -- "$cur"))
		return
	fi

	case "$cmd $sub" in
	"vm run")
		case $prev in
		--kernel | --initrd)
			COMPREPLY=($(compgen -f -- "$cur"))
			return
			;;
		--accel)
			COMPREPLY=($(compgen -W "auto kvm emu" -- "$cur"))
			return
			;;
		--console)
			COMPREPLY=($(compgen -W "stdio none file:" -- "$cur"))
			return
			;;
		--cmdline | --mem | --cpus) return ;;
		esac
		COMPREPLY=($(compgen -W "--kernel --initrd --cmdline --mem --cpus --accel --console
			--verbose --help" -- "$cur"))
		;;
	"ct run")
		# after -- (or the command) everything is the command's
		for ((i = 3; i < cword; i++)); do
			[[ ${words[i]} == -- ]] && return
		done
		case $prev in
		--rootfs | -w | --workdir)
			COMPREPLY=($(compgen -d -- "$cur"))
			return
			;;
		-v | --volume)
			COMPREPLY=($(compgen -f -- "$cur"))
			return
			;;
		--net)
			COMPREPLY=($(compgen -W "none host" -- "$cur"))
			return
			;;
		-e | --env)
			COMPREPLY=($(compgen -e -- "$cur"))
			return
			;;
		--memory | --cpus | --pids | --hostname | -u | --user) return ;;
		esac
		COMPREPLY=($(compgen -W "--rootfs --memory --cpus --pids --net --hostname --ro
			-t --tty -e --env -v --volume -w --workdir -u --user --help --" -- "$cur"))
		;;
	esac
}
complete -F _vessel vessel
