// A classic-BPF seccomp program, built in JS, for `bwrap --seccomp FD` (what seccomp_export_bpf would write).
// Refuses (EPERM): socket(AF_UNIX, …) — no path or abstract Unix socket the sandbox can see (a Docker socket, an
// ssh/gpg agent, a bus not hidden by path) can be reached; io_uring (IORING_OP_SOCKET would get around the socket
// rule); ioctl TIOCSTI / TIOCLINUX (typing into the user's terminal, so the agent keeps the terminal's session and job
// control); ptrace, process_vm_readv/writev and pidfd_getfd (the unfiltered socat bridge shares the sandbox: no taking
// it over); every syscall of a non-native ABI (x32, i386 socketcall). socketpair(AF_UNIX) stays allowed: an
// anonymous pair reaches nothing.
const LD = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ = 0x15;
const JGE = 0x35;
const RET = 0x06;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050000 | 1;

interface Arch {
  readonly audit: number;
  readonly socket: number;
  readonly ioctl: number;
  readonly x32: number | null;
  readonly ptrace: readonly number[];
}
const ARCH: Readonly<Record<string, Arch>> = {
  x64: { audit: 0xc000003e, socket: 41, ioctl: 16, x32: 0x40000000, ptrace: [101, 310, 311] },
  arm64: { audit: 0xc00000b7, socket: 198, ioctl: 29, x32: null, ptrace: [117, 270, 271] },
};
const PIDFD_GETFD = 438; // same number on both
const IO_URING_FIRST = 425; // io_uring_setup, _enter, _register: 425–427 on both
const IO_URING_END = 428;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
const AF_UNIX = 1;

type Op = 'ld' | 'jeq' | 'jge' | 'ret';
type Instr = [Op, number, string | null, string | null];

/** True when this CPU architecture has a program here. */
export function seccompSupported(arch: string = process.arch): boolean {
  return Object.hasOwn(ARCH, arch);
}

/** The program as the bytes of a `struct sock_filter[]`. Throws for an architecture without one. */
export function sandboxFilter(arch: string = process.arch): Buffer {
  const a = ARCH[arch];
  if (a === undefined) throw new Error(`no seccomp program for ${arch}`);
  // A tiny assembler: jumps name labels; null is the next instruction.
  const src: (Instr | string)[] = [
    ['ld', 4, null, null], // seccomp_data.arch
    ['jeq', a.audit, null, 'deny'],
    ['ld', 0, null, null], // seccomp_data.nr
    ...(a.x32 === null ? [] : [['jge', a.x32, 'deny', null] as Instr]),
    ['jeq', a.socket, 'socket', null],
    ['jeq', a.ioctl, 'ioctl', null],
    ...[...a.ptrace, PIDFD_GETFD].map((nr): Instr => ['jeq', nr, 'deny', null]),
    ['jge', IO_URING_FIRST, null, 'allow'],
    ['jge', IO_URING_END, 'allow', 'deny'],
    'socket',
    ['ld', 16, null, null], // args[0]
    ['jeq', AF_UNIX, 'deny', 'allow'],
    'ioctl',
    ['ld', 24, null, null], // args[1], low 32 bits
    ['jeq', TIOCSTI, 'deny', null],
    ['jeq', TIOCLINUX, 'deny', 'allow'],
    'allow',
    ['ret', ALLOW, null, null],
    'deny',
    ['ret', EPERM, null, null],
  ];
  const labels = new Map<string, number>();
  const code: Instr[] = [];
  for (const x of src) {
    if (typeof x === 'string') labels.set(x, code.length);
    else code.push(x);
  }
  const opcode: Record<Op, number> = { ld: LD, jeq: JEQ, jge: JGE, ret: RET };
  const buf = Buffer.alloc(code.length * 8);
  code.forEach(([op, k, jt, jf], i) => {
    const rel = (label: string | null) => (label === null ? 0 : labels.get(label)! - i - 1);
    buf.writeUInt16LE(opcode[op], i * 8);
    buf.writeUInt8(rel(jt), i * 8 + 2);
    buf.writeUInt8(rel(jf), i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}
