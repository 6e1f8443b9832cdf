/**
 * The client the egress suite runs inside sandboxes: Python 3's standard library only, because every
 * image the suite uses has python3 (the host's, and the Docker base image's; curl is tried by itself). It
 * uses the proxy the way ordinary tools do: urllib reads HTTP_PROXY/HTTPS_PROXY/NO_PROXY and trusts
 * SSL_CERT_FILE; the SOCKS5 and raw CONNECT modes speak those protocols by hand, as ssh or a
 * hand-rolled client would. Each mode prints one JSON line.
 */
export const CLIENT_PATH = '/tmp/egress-client.py';

export const CLIENT_SCRIPT = String.raw`
import hashlib, json, os, socket, ssl, struct, sys, urllib.error, urllib.request

def out(**fields):
    print(json.dumps(fields))

def get(url, headers, cafile):
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as reply:
            out(status=reply.status, body=reply.read().decode(), echoed=reply.headers.get('x-echo-api-key'))
    except urllib.error.HTTPError as error:
        out(status=error.code, body=error.read().decode(), refused=error.headers.get('x-airlock-refused'))
    except Exception as error:
        out(error=type(error).__name__, detail=str(error))

def fetch(url, cafile):
    context = ssl.create_default_context(cafile=cafile)
    digest, size = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=60, context=context) as reply:
        while True:
            chunk = reply.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        out(status=reply.status, size=size, sha256=digest.hexdigest())

def proxy_address():
    return ('127.0.0.1', 3128)

def socks(host, port, path):
    s = socket.create_connection(proxy_address(), timeout=30)
    s.sendall(b'\x05\x01\x00')
    if s.recv(2) != b'\x05\x00':
        return out(error='socks greeting refused')
    name = host.encode()
    s.sendall(b'\x05\x01\x00\x03' + bytes([len(name)]) + name + struct.pack('>H', int(port)))
    reply = s.recv(10)
    if len(reply) < 2 or reply[1] != 0:
        return out(socksReply=reply[1] if len(reply) > 1 else None)
    s.sendall(('GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' % (path, host, port)).encode())
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    out(socksReply=0, status=int(head.split(b' ')[1]), body=body.decode())

def sni(host, port, server_name, cafile):
    s = socket.create_connection(proxy_address(), timeout=30)
    s.sendall(('CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n' % (host, port, host, port)).encode())
    head = b''
    while b'\r\n\r\n' not in head:
        chunk = s.recv(1)
        if not chunk:
            return out(error='closed before the tunnel opened')
        head += chunk
    status = int(head.split(b' ')[1])
    if status != 200:
        return out(status=status)
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    try:
        tls = context.wrap_socket(s, server_hostname=server_name)
        tls.sendall(('GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % server_name).encode())
        out(status=200, tls=True, body=tls.recv(65536).decode(errors='replace'))
    except Exception as error:
        out(tunnel=200, error=type(error).__name__)

def direct(host, port):
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        out(connected=True)
    except Exception as error:
        out(connected=False, error=type(error).__name__)

def dns(name):
    try:
        out(resolved=socket.gethostbyname(name))
    except Exception as error:
        out(resolved=None, error=type(error).__name__)

def env():
    names = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy',
             'no_proxy', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS', 'API_TOKEN']
    out(**{name: os.environ.get(name) for name in names})

mode, args = sys.argv[1], sys.argv[2:]
if mode == 'get':
    cafile = None
    if args and args[0].startswith('--cafile='):
        cafile = args.pop(0)[len('--cafile='):]
    headers = dict(header.split(': ', 1) for header in args[1:])
    get(args[0], headers, cafile)
elif mode == 'fetch':
    fetch(args[0], args[1][len('--cafile='):])
elif mode == 'socks':
    socks(*args)
elif mode == 'sni':
    sni(*args)
elif mode == 'direct':
    direct(*args)
elif mode == 'dns':
    dns(*args)
elif mode == 'env':
    env()
`;
