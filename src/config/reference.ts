/**
 * What each airlock.yaml key means, keyed by its path, and the environment variables Airlock reads:
 * the words of docs/configuration.md. Types, accepted values and defaults are not here: the generator
 * (scripts/config-reference.ts) reads them from the zod schemas themselves, so they cannot drift. A
 * key's `type` is written here only where the schema cannot say it (a value parsed by units.ts), and
 * `whenAbsent` only where the code, not the schema, decides what leaving the key out means.
 * A test fails when a schema key has no entry here, or an entry names a key the schema lacks.
 */

export interface ConfigKeyDoc {
  readonly description: string;
  /** The accepted form, for values the schema only parses (sizes, durations, rates…). */
  readonly type?: string;
  /** What leaving the key out means, when no schema default says it. */
  readonly whenAbsent?: string;
}

const SIZE = 'size';
const DURATION = 'duration';
const RATE = 'rate';

export const configKeyDocs: Readonly<Record<string, ConfigKeyDoc>> = {
  // ─── sandbox ──────────────────────────────────────────────────────────────────────────────────────
  sandbox: {
    description:
      'The sandbox every session gets: which driver isolates it, what it sees and its resource limits. ' +
      'A session created through the API or the library may ask for other limits per session.',
  },
  'sandbox.driver': {
    description:
      'The isolation: `bwrap` (namespaces, cgroups and seccomp on the host kernel), `gvisor` (a user-space ' +
      'kernel, `runsc`; needs root) or `docker` (a locked-down container through the local daemon). ' +
      'See docs/security-model.md for what each guarantees.',
  },
  'sandbox.image': {
    description:
      'What the sandbox runs on. `host`: the host system directories (`/usr`, `/bin`, `/lib*`, `/sbin`, ' +
      'an allow-listed `/etc`), read-only. An absolute path: a root filesystem directory (for example made ' +
      'by debootstrap), read-only; it must be world-readable, since sandboxes run as an unprivileged user. ' +
      'With `docker`: the name of a local image (`python:3.12-slim`); Airlock never pulls images.',
  },
  'sandbox.memory': {
    type: `${SIZE}, at least \`4m\``,
    description:
      "The session's memory limit, swap included, enforced by its cgroup. Its tmpfs scratch pages count " +
      'against it too. A command that passes it is killed and reported as out of memory (exit 137).',
  },
  'sandbox.cpus': {
    type: 'number of CPUs, from `0.01` to `1024`',
    description: "The session's CPU quota, in CPUs' worth of time (`0.5` is half of one CPU).",
  },
  'sandbox.pids': {
    type: 'whole number, at most `4194304`',
    description: 'How many processes and threads the session may have at once; a fork bomb stops here.',
  },
  'sandbox.scratch': {
    type: SIZE,
    description:
      'The size of each writable tmpfs in the sandbox: `/tmp`, `/workspace` (the working directory) and ' +
      '`/dev/shm`. Everything else is read-only.',
  },
  'sandbox.network': {
    description:
      'What a sandbox may reach through the egress proxy: `none`, or a mapping of `mode`, `allow` and ' +
      '`hosts`. The sandbox itself keeps only its loopback: the proxy, at 127.0.0.1:3128 inside (HTTP, ' +
      '`CONNECT` and SOCKS5, named by `HTTP_PROXY` and the like), is the one way out, and it refuses a ' +
      'host off the list with a reason the command can read. A session may ask for less, never more.',
  },
  'sandbox.network.mode': {
    description:
      '`none`: no network. `allowlist`: only the hosts in `allow`. `ask`: the hosts in `allow`, and a person ' +
      'is asked (for up to `router.approvalWait`) about any other host a command connects to.',
  },
  'sandbox.network.allow': {
    description:
      'Hosts a sandbox may connect to: `api.example.test`, `*.example.org` (subdomains), with `:port` to ' +
      'name a port (default ports: 80 and 443), or `registry:npm` / `registry:pypi` for the registries npm ' +
      'and pip on this host are configured with. Names are checked before they are resolved; an address ' +
      'in a private, loopback or link-local range is refused unless `hosts` maps the name there.',
  },
  'sandbox.network.hosts': {
    type: 'mapping of host name: IP address',
    description:
      'Fixed addresses for exact host names, like /etc/hosts; the only way to let a name reach a private ' +
      'or loopback address.',
  },
  'sandbox.secrets': {
    description:
      'Secrets a command may use without seeing them: the command gets a placeholder in the variable ' +
      "`name`, and the egress proxy swaps the real value in only on requests to the secret's `hosts` " +
      '(HTTPS to them is opened by the proxy with a per-session CA the sandbox trusts). A placeholder ' +
      'bound for any other host is refused, and the values are redacted from every output and record.',
  },
  'sandbox.secrets[].name': {
    description: 'The environment variable the sandbox sees, holding the placeholder.',
  },
  'sandbox.secrets[].fromEnv': {
    description:
      "Where the value comes from: a variable of Airlock's own environment, read when a session is made. " +
      'Give exactly one of `fromEnv` and `value`.',
  },
  'sandbox.secrets[].value': {
    description:
      'The value itself, written in the file (prefer `fromEnv`: the file is then not a secret). ' +
      'Give exactly one of `fromEnv` and `value`.',
  },
  'sandbox.secrets[].hosts': {
    description:
      'The hosts the value may be sent to (at least one; no registry aliases). A placeholder on its way ' +
      'to any other host is refused.',
  },
  'sandbox.timeout': {
    type: DURATION,
    description:
      "A command's time limit when the caller gives none. At the limit the command's whole process tree " +
      'is killed (exit 124) and the session stays usable.',
  },
  'sandbox.idleTimeout': {
    type: DURATION,
    description: 'A session that runs no command for this long is ended and its sandbox destroyed.',
  },
  'sandbox.env': {
    type: 'mapping of NAME: text',
    description:
      'Variables commands see, on top of `PATH`, `HOME=/workspace` and `LANG=C.UTF-8` (which these may ' +
      'override). Nothing of the host environment reaches a sandbox. Quote values YAML would read as ' +
      'numbers (`PORT: "8080"`).',
  },
  'sandbox.refuseSecretsInWorkspace': {
    type: '`true` or `false`',
    description:
      'Whether a tree copied in (`airlock cp`, `PUT …/archive`, `--workspace`) that holds a file looking ' +
      'like a secret (`.env`, keys, credential files) is refused whole. When false, such files are copied, ' +
      'reported to the caller, and their values redacted from every output of the session.',
  },
  'sandbox.uidRange': {
    description:
      'Host uids (and gids of the same numbers) sessions run as, one each, as `FIRST-LAST`: per-user ' +
      'kernel limits, signals and `/proc` visibility then never cross sessions. Refused when it holds ' +
      "an account's uid, a group's gid or another user's subordinate ids. `scripts/setup.sh` reserves " +
      'the default as the subordinate ids of a system user `airlock`. Used by bwrap when Airlock runs ' +
      'as root and by Docker with runc; gVisor sandboxes need no host uid.',
  },
  'sandbox.cgroupParent': {
    description:
      'The cgroup that session cgroups are made under, relative to the cgroup root (v1 and v2). Set it ' +
      'when Airlock does not run as root: it must be a cgroup delegated to that user.',
    whenAbsent:
      "as root, `airlock`; otherwise, on cgroup v2, `airlock.slice` inside the user's systemd " +
      '`user@UID.service`; with neither, sandboxes refuse to start',
  },
  'sandbox.maxTimeout': {
    type: DURATION,
    description:
      'The longest per-command timeout a caller (API, MCP, SDK) may ask for; `timeout` may not exceed it.',
    whenAbsent: '`10m`, or `timeout` when that is longer',
  },
  'sandbox.runtime': {
    description:
      '`docker` driver only: the OCI runtime of the containers. `runsc` puts each container in a gVisor ' +
      'sandbox (it must be registered with the Docker daemon).',
    whenAbsent: '`runc`',
  },

  // ─── policy ───────────────────────────────────────────────────────────────────────────────────────
  policy: {
    description:
      'The policy every command is judged by: a preset and rules of your own. The same document can ' +
      'live in its own file (`--policy FILE`). See the README for how rules match.',
  },
  'policy.preset': {
    description:
      'A built-in policy whose rules apply too: `readonly`, `coding-agent` or `permissive` (runs ' +
      'everything: the sandbox is then the only protection).',
    whenAbsent: '`coding-agent` (adding one rule never drops the built-in protections)',
  },
  'policy.default': {
    description: 'The decision for an effect no rule matches.',
    whenAbsent: "the preset's: `ask` for `coding-agent` and `readonly`, `allow` for `permissive`",
  },
  'policy.dangerouslyAllowUnjudged': {
    description:
      'Lets through commands the analysis cannot judge (parse errors, unseen code, control characters). ' +
      'Only for testing the sandbox alone.',
  },
  'policy.rules': {
    description: 'Rules of your own. The strictest decision of every matching rule (and the preset) wins.',
  },
  'policy.rules[].id': {
    description:
      'A name for the rule, shown in decisions and the audit log: lower-case letters, digits, `.`, `_`, `-`.',
  },
  'policy.rules[].match': {
    description:
      'Commands by argv prefix, each word a glob (`git push --force*`); a list gives alternatives. A ' +
      'rule has exactly one of `match` and `effect`.',
  },
  'policy.rules[].effect': {
    description:
      'Effects by kind (what the parsed command does), with `paths`, `hosts`, `names`, `langs` or `via` ' +
      'to narrow it. A rule has exactly one of `match` and `effect`.',
  },
  'policy.rules[].paths': {
    description: 'Paths (globs, `~` for home) a `read`, `write` or `delete` effect must touch.',
  },
  'policy.rules[].hosts': {
    description: 'Hosts (globs) a `net` effect must reach.',
  },
  'policy.rules[].names': {
    description: 'Variable or state names an `env-change`, `env-read` or `state-change` effect must name.',
  },
  'policy.rules[].where': {
    description:
      "Conditions on the session's sandbox; the rule applies only when every one holds: `sandboxed` / " +
      '`unsandboxed` (commands run in a sandbox or not), `writable` / `outside-writable` (a path inside or ' +
      "outside the session's writable directories), `given-secret` / `not-given-secret` (a file or " +
      'variable the session was given as a secret), `loopback` / `granted` / `grantable` / `unreachable` ' +
      '(a connection to the sandbox itself, to a host the session may reach, to one a person can grant, ' +
      'to one nobody can grant).',
  },
  'policy.rules[].langs': {
    description: 'Languages of a `code` effect (`python`, `node`, …).',
  },
  'policy.rules[].via': {
    description: 'How a `code` effect gets its code.',
  },
  'policy.rules[].except': {
    description: 'Targets the rule does not apply to, in the same form as `paths`, `hosts` or `names`.',
  },
  'policy.rules[].decision': {
    description: 'What a match decides.',
  },
  'policy.rules[].reason': {
    description: 'Why, in words the model and a person read with the decision.',
  },
  'policy.rules[].examples': {
    description:
      'Commands the rule must and must not match, checked when the policy loads: a wrong example is ' +
      'a load error.',
  },
  'policy.rules[].examples.match': {
    description: 'Commands the rule must match.',
  },
  'policy.rules[].examples.not_match': {
    description: 'Commands the rule must not match.',
  },

  // ─── egress ───────────────────────────────────────────────────────────────────────────────────────
  egress: {
    description:
      "The egress proxy's bounds for each session, so that one session's commands (or a slow upstream) " +
      'cannot take the proxy from the others.',
  },
  'egress.maxConnections': {
    type: 'whole number, from `1` to `10000`',
    description:
      'Connections one session may have open through the proxy at once; one more is answered with a ' +
      "refusal that says so. The sandbox's own bridge to the proxy carries at most 64 at once (more " +
      'wait to be accepted).',
  },
  'egress.bandwidth': {
    type: `${SIZE} per second, at least \`1k\``,
    description:
      'Bytes per second each way for one session, shared by all its connections (opening more does not ' +
      'buy more).',
    whenAbsent: 'not limited',
  },
  'egress.idleTimeout': {
    type: `${DURATION}, at least \`1s\``,
    description: 'A connection through the proxy that moves no byte either way for this long is closed.',
  },

  // ─── router ───────────────────────────────────────────────────────────────────────────────────────
  router: {
    description: 'The pipeline around each command: approvals, rate limits, output shaping, redaction.',
  },
  'router.approvalRequiredFor': {
    description:
      'Actions a person approves even when the policy allows them: command prefixes matched like a ' +
      "rule's `match` (answered in the same parse as the policy), and `write_file` for every file " +
      'copied into a sandbox. Without `write_file`, a file copy is judged by the same path rules as a ' +
      'shell write: a project file is written unasked, a build file a person inherits asks, agent ' +
      'configuration is refused.',
  },
  'router.approvalTimeout': {
    type: DURATION,
    description: 'How long an approval request waits for a person; undecided by then means denied.',
  },
  'router.approvalWait': {
    type: DURATION,
    description:
      'How long a call waits for a person before it answers. A command (or a file write) that needs ' +
      'approval comes back `pending_approval` with its approval id and the call to check on it, and ' +
      'still runs by itself once approved; a caller may ask to wait longer (`approvalWaitMs`, ' +
      '`approval_wait_s`), up to `approvalTimeout`. In network `ask` mode, also how long a connection ' +
      'to a host off the allow-list waits for a person before it is refused.',
  },
  'router.reviewer': {
    description:
      'Asked about every approval request before a person is: a program (`command`) or an HTTP ' +
      'endpoint (`url`) that receives the request as JSON ' +
      '(`{version, approvalId, sessionId, commandId, action, subject, parsed, reasons, ruleIds, session}`) ' +
      'and answers `{"decision": "approve"|"deny"|"abstain", "reason"?}`. Its decisions are audited ' +
      "like a person's (decided by `reviewer:<name>`); approving is for this once. A reviewer that " +
      'fails, runs past `timeout` or answers anything else abstains: a person decides, never a default ' +
      'allow. While it decides, the request is not yet listed for people.',
    whenAbsent: 'no reviewer: a person decides every request',
  },
  'router.reviewer.name': {
    description: 'Who decided, in the audit log (`reviewer:<name>`).',
    whenAbsent: "the program's file name, or the endpoint's host",
  },
  'router.reviewer.command': {
    description:
      'The program and its arguments, run without a shell in `/` with only `PATH` and `LANG` set: the ' +
      'request on stdin, the answer on stdout (at most 64 KiB), exit status 0.',
    whenAbsent: 'give `url` instead',
  },
  'router.reviewer.url': {
    description:
      'An `http://` or `https://` endpoint: the request is POSTed as JSON, the answer is the response ' +
      'body (status 2xx, at most 64 KiB). Redirects are not followed.',
    whenAbsent: 'give `command` instead',
  },
  'router.reviewer.timeout': {
    type: `${DURATION}, from \`100ms\` to \`5m\``,
    description: 'How long the reviewer has to answer; past it, it abstains (its program is killed).',
  },
  'router.output': {
    description: 'What the model is shown of each output.',
  },
  'router.output.maxChars': {
    type: 'whole number',
    description:
      'Characters of each stream (stdout, stderr) the model reads: the head and the tail, with a marker ' +
      'naming the output id the rest can be paged from.',
  },
  'router.archive': {
    description: 'Bounds on a tree copied into or out of a sandbox as a tar archive, checked as it is read.',
  },
  'router.archive.maxBytes': {
    type: SIZE,
    description:
      'Most bytes of file content one archive may hold, after decompression; a bigger one (or a gzip ' +
      'bomb) is refused whole on the way in, and the export refused on the way out.',
  },
  'router.archive.maxEntries': {
    type: 'whole number',
    description: 'Most files and directories one archive may hold, in or out.',
  },
  'router.rateLimit': {
    type: `${RATE}, or a mapping`,
    description:
      'How many commands one session may run: a token bucket of `burst` commands, refilled at `rate`. ' +
      'Past it a command is not run and its result is `rate_limited` (with when to retry). A plain rate ' +
      '(`30/min`) is a bucket as big as one minute of it. The default lets the bursts agents make ' +
      '(parallel tool calls, a scripted loop: 40 to 60 commands in seconds) through, and holds a runaway ' +
      'loop to one command every 2 s.',
  },
  'router.rateLimit.rate': {
    type: RATE,
    description: 'How fast the bucket refills: the sustained pace a session may keep.',
  },
  'router.rateLimit.burst': {
    type: 'whole number, from `1` to `1000000`',
    description: 'How many commands may go at once (the size of the bucket).',
  },
  'router.secretEnv': {
    description:
      "Variables of Airlock's own environment whose values are secrets: redacted from every output, log " +
      'and audit record (also base64- and URL-encoded). A value shorter than 8 characters is refused.',
  },

  // ─── sessions ─────────────────────────────────────────────────────────────────────────────────────
  sessions: {
    description: 'Limits on sessions as a whole.',
  },
  'sessions.max': {
    type: 'whole number, from `1` to `10000`',
    description: 'Sessions one control plane runs at once; one more is refused (`LIMIT_REACHED`).',
  },
  'sessions.maxTotal': {
    type: 'whole number, from `1` to `1000000`',
    description:
      'With a `cluster`: sessions all control planes together run at once; one more is refused ' +
      '(`LIMIT_REACHED`) whichever node it was asked of. Each node still keeps to its own `max`.',
    whenAbsent: "only each node's `max` applies",
  },
  'sessions.lifetime': {
    type: DURATION,
    description: 'A session ends this long after it was created, busy or not.',
  },
  'sessions.maxLifetime': {
    type: DURATION,
    description:
      'The longest a session may live from its creation: a `ttlMs` at creation or an extension (`PATCH /v1/sessions/:id`) past it is refused (`INVALID_ARGUMENT`). Not shorter than `sessions.lifetime`.',
  },

  // ─── server ───────────────────────────────────────────────────────────────────────────────────────
  server: {
    description: '`airlock serve`: where the HTTP API (and MCP at `/mcp`) listens and its request limits.',
  },
  'server.host': {
    description:
      'The address to listen on. Anything but loopback lets anyone who can reach the port and holds a ' +
      'token run code here; Airlock warns.',
  },
  'server.port': {
    type: 'whole number, from `1` to `65535`',
    description: 'The TCP port (`--port` overrides it; `--port 0` picks a free one).',
  },
  'server.rateLimit': {
    type: RATE,
    description: 'Requests one bearer token may make; past it, `429` with `Retry-After`.',
  },
  'server.maxBody': {
    type: `${SIZE}, from \`1k\` to \`64m\``,
    description:
      'The largest JSON request body. File uploads are bounded by the file-copy limit (64 MiB) instead.',
  },
  'server.mcpDisconnectGrace': {
    type: DURATION,
    description:
      'An MCP-over-HTTP client that leaves without `DELETE /mcp` counts as gone once its event stream ' +
      'has been closed, with no call open, this long; its connection is closed and the session it ' +
      'made is ended. A client that never opens an event stream is ended at `sandbox.idleTimeout`.',
  },

  'server.dashboard': {
    type: '`true` or `false`',
    description:
      'Serve the dashboard at `/` on the same port: live sessions, commands, approvals and the audit log ' +
      'for people, who sign in with the admin token or a viewer or approver token (`airlock tokens ' +
      'create`). `false` leaves only the API; the tokens and the cookie sign-in still work there.',
  },
  'server.trustProxy': {
    type: '`true` or `false`',
    description:
      'Airlock sits behind one reverse proxy that terminates TLS (nginx, Caddy, a load balancer): the ' +
      "nearest hop's `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-For` are believed, so the " +
      "dashboard's session cookie is `Secure` when the browser came over HTTPS, its sign-in accepts the " +
      "proxy's public origin, and rate limits count the client's address, not the proxy's. Leave it off " +
      'without such a proxy: any client could then send those headers and pass for another origin or ' +
      'address. The proxy must set the headers itself, overwriting what the client sent.',
  },

  // ─── store ────────────────────────────────────────────────────────────────────────────────────────
  store: {
    type: '`sqlite:<path>` or `postgres://user@host:port/database`',
    description:
      'Where commands, approvals, outputs and the audit log are kept. `sqlite:` names an SQLite file: a ' +
      'relative path is relative to the directory Airlock starts in; `sqlite::memory:` keeps everything in ' +
      'the process (gone when it stops, and the CLI cannot reach it). A `postgres://` (or `postgresql://`) ' +
      'URL names a PostgreSQL database, created beforehand; Airlock creates and migrates its tables at ' +
      'start and refuses a database a newer Airlock wrote. Keep the password out of the URL (use ' +
      '`~/.pgpass` or `PGPASSWORD`); it is never shown. Several control planes can share one PostgreSQL ' +
      'database: see `cluster` and docs/scaling.md. `AIRLOCK_STORE` overrides this key.',
    whenAbsent: '`$AIRLOCK_HOME/airlock.db`',
  },

  // ─── audit ────────────────────────────────────────────────────────────────────────────────────────
  audit: {
    description:
      "What protects the audit log from someone who can write the store: see the README's audit section.",
  },
  'audit.keyFile': {
    description:
      'The Ed25519 key that signs checkpoints of the audit chain, as an absolute path. Made on first use ' +
      '(mode 0600); a key file others can read or write, or a symlink, stops start-up.',
    whenAbsent: '`$AIRLOCK_HOME/audit-key`',
  },
  'audit.checkpointEvery': {
    type: 'whole number, from `1` to `1000000`',
    description:
      "A checkpoint of the audit chain's head is signed once this many events were recorded since the " +
      'last one (and at least every `checkpointInterval`).',
  },
  'audit.checkpointInterval': {
    type: `${DURATION}, at least \`1s\``,
    description:
      'A checkpoint is also signed at least this often while events arrive, and at a clean shutdown.',
  },
  'audit.witness': {
    description:
      'A file outside the store that every audit event is appended to, a copy a database writer must ' +
      'also rewrite. Best on another disk, mount or machine.',
    whenAbsent: 'no witness',
  },
  'audit.witness.file': {
    description: 'The witness file, as an absolute path; opened for appending, made with mode 0600.',
  },

  // ─── cluster ──────────────────────────────────────────────────────────────────────────────────────
  cluster: {
    description:
      'Several control planes on one PostgreSQL `store`: each session lives on the node that runs its ' +
      'sandbox, any node answers any request (forwarding it to that node), approvals decided anywhere ' +
      'reach the waiting node at once, and a node that stops is detected by the others. See ' +
      'docs/scaling.md.',
    whenAbsent: 'one control plane on its own',
  },
  'cluster.nodeId': {
    description: "This control plane's name in the cluster: up to 63 letters, digits and `._:-`.",
    whenAbsent: 'the host name and the port, like `build-1:7400`',
  },
  'cluster.advertiseUrl': {
    description:
      'How the other control planes reach this one: `http://` or `https://`, an address and a port, no ' +
      "path. Node-to-node calls carry the client's token, so use a private network or https.",
    whenAbsent: '`http://<server.host>:<port>`, unless `server.host` is a wildcard address (then required)',
  },
  'cluster.secretFile': {
    description:
      'A file holding the secret every node shares (at least 32 bytes, mode 0600). It authenticates ' +
      "node-to-node calls (an HMAC per call; the secret itself is never sent) and each node's audit key " +
      'in the store, so verify trusts the checkpoints of every node and of nothing else.',
    whenAbsent: '`$AIRLOCK_HOME/cluster-secret`',
  },
  'cluster.heartbeatInterval': {
    type: `${DURATION}, from \`100ms\` to \`2s\``,
    description: 'How often this node writes its heartbeat and load (sessions, free memory) to the store.',
  },
  'cluster.failureTimeout': {
    type: `${DURATION}, from \`2s\` to \`10m\``,
    description:
      'A node whose last heartbeat is this old is lost: the others end its sessions (requests for them ' +
      'answer `410 SESSION_ENDED` with the reason) and expire its pending approvals. At least twice ' +
      '`heartbeatInterval`.',
  },

  'cluster.directClients': {
    type: '`true` or `false`',
    description:
      "Name, on every answer about a session this node runs, this node's `advertiseUrl` (the " +
      "`X-Airlock-Node-Url` header), so the SDK sends that session's later requests straight here instead " +
      'of through whichever node a load balancer picks (which would pass them on: a hop that costs the ' +
      'cluster CPU and time). The SDK goes back to the URL it was given when the node does not answer, ' +
      'and only follows a URL of the same scheme. `false` when clients cannot or must not reach the ' +
      'nodes at their `advertiseUrl` (a private network for node-to-node calls only).',
  },

  // ─── agent ────────────────────────────────────────────────────────────────────────────────────────
  agent: {
    description:
      '`airlock agent run` and `airlock.agents.run()`: the model that drives the tools, and the budgets ' +
      'of a run. The flags of `airlock agent run` override these.',
  },
  'agent.model': {
    description:
      'The model: `openai:NAME`, `anthropic:NAME`, or a bare name for an OpenAI-compatible server ' +
      '(OpenAI itself, or the server `baseUrl` names: llama.cpp, vLLM, Ollama…).',
    whenAbsent: 'none: `--model` must say',
  },
  'agent.baseUrl': {
    description:
      "The provider's endpoint, for a server other than the provider's own (e.g. " +
      '`http://127.0.0.1:8080/v1` for a local OpenAI-compatible server). No credentials in it: the key ' +
      'comes from `OPENAI_API_KEY` or `ANTHROPIC_API_KEY`.',
    whenAbsent: "`OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL`, else the provider's own API",
  },
  'agent.maxSteps': {
    type: 'whole number, from `1` to `10000`',
    description: 'Model calls a run may make; the run ends (`max_steps`) when the model still wants tools.',
  },
  'agent.budgetTokens': {
    type: 'whole number, from `1` to `1000000000`',
    description:
      'Tokens a run may spend, in and out, every call summed (as the provider reports them, else ' +
      'estimated); the run ends (`budget_exhausted`) once they are spent.',
  },
  'agent.contextTokens': {
    type: 'whole number, from `2000` to `10000000`',
    description:
      'What one model call may carry, estimated at four characters a token. Past it, the oldest tool ' +
      'results are replaced by a note saying how to get them again; one result takes at most a quarter.',
  },
  'agent.maxTokens': {
    type: 'whole number, from `1` to `1000000`',
    description: 'The longest answer per model call, in tokens.',
  },
  'agent.commandWait': {
    type: DURATION,
    description:
      'How long `run_command` waits for a command before answering `running`: the command goes on in the ' +
      'background and the model keeps working (it checks back with `command_status`).',
  },
  'agent.attempts': {
    type: 'whole number, from `1` to `10`',
    description:
      'Tries per model call. A rate limit (429), a server error (5xx) or a lost connection is tried ' +
      "again after an exponential, jittered delay (or the server's `Retry-After`, at most 30 s).",
  },
  'agent.systemPrompt': {
    description: 'Instead of the built-in system prompt.',
    whenAbsent: 'the built-in prompt: the sandbox, the tools, approvals, background commands, paging',
  },
  'agent.recordPrompts': {
    description:
      "Put the task and each model call's messages (redacted, the newest 64 KiB) in the audit log. " +
      'Without it the log has the model, tokens, latency and stop reason of each call, and the task only ' +
      'as its length and SHA-256.',
  },
};

export interface EnvironmentVariableDoc {
  readonly name: string;
  readonly description: string;
}

/** Every variable Airlock reads from its own environment (variables a config names are described there). */
export const environmentVariableDocs: readonly EnvironmentVariableDoc[] = [
  {
    name: 'AIRLOCK_HOME',
    description:
      'The state directory: the store (unless `store` names another), the admin token, the audit key and ' +
      'anchors, snapshots and sandbox state. An absolute path. See docs/operations.md.',
  },
  {
    name: 'HOME',
    description:
      'Without `AIRLOCK_HOME`, the state directory is `$HOME/.local/state/airlock`; with neither, Airlock ' +
      'refuses to start rather than guess.',
  },
  {
    name: 'AIRLOCK_TOKEN',
    description:
      '`airlock serve`: the admin token to accept instead of the generated one in ' +
      '`$AIRLOCK_HOME/admin-token`. The CLI with `--url`: the token to send. Printable characters, no ' +
      'spaces; empty means unset.',
  },
  {
    name: 'AIRLOCK_STORE',
    description:
      'The store to use instead of `store` in airlock.yaml, in the same form (`sqlite:<path>` or a ' +
      '`postgres://` URL): how a deployment points one configuration at its database. Empty means unset.',
  },
  {
    name: 'npm_config_registry, NPM_CONFIG_REGISTRY',
    description:
      'The registry `registry:npm` in `sandbox.network.allow` stands for; otherwise `npm config get registry` ' +
      'is asked.',
  },
  {
    name: 'PIP_INDEX_URL, PIP_EXTRA_INDEX_URL',
    description: 'The indexes `registry:pypi` stands for, read before `pip config list`, as pip itself does.',
  },
  {
    name: 'OPENAI_API_KEY, ANTHROPIC_API_KEY',
    description:
      "The model providers' keys for `airlock agent run`. Redacted from every output, log and audit " +
      "record (a value under 8 characters, such as a local server's placeholder, is not a secret and is " +
      'left alone); never passed into a sandbox.',
  },
  {
    name: 'OPENAI_BASE_URL, ANTHROPIC_BASE_URL',
    description: 'The endpoint of each provider when neither `--base-url` nor `agent.baseUrl` gives one.',
  },
  {
    name: 'NO_COLOR, FORCE_COLOR, TERM',
    description:
      'CLI output colour: `NO_COLOR` turns it off, `FORCE_COLOR` on; otherwise only on a terminal whose ' +
      '`TERM` is not `dumb`.',
  },
];
