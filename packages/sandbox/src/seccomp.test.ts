import { describe, expect, it } from 'vitest';
import { bwrapArgv } from './linux.js';
import { sandboxFilter } from './seccomp.js';

/** Runs the classic-BPF program on one syscall, as the kernel would. */
function verdict(prog: Buffer, data: { arch: number; nr: number; args?: number[] }): 'allow' | 'eperm' {
  const word = (off: number) => {
    if (off === 0) return data.nr;
    if (off === 4) return data.arch;
    return data.args?.[(off - 16) / 8] ?? 0;
  };
  let acc = 0;
  for (let pc = 0; pc * 8 < prog.length; ) {
    const op = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    if (op === 0x20) acc = word(k) >>> 0;
    else if (op === 0x15) pc += acc === k ? jt : jf;
    else if (op === 0x35) pc += acc >= k ? jt : jf;
    else if (op === 0x06) return k === 0x7fff0000 ? 'allow' : 'eperm';
    pc += 1;
  }
  throw new Error('fell off the program');
}

describe('seccomp program (x64)', () => {
  const prog = sandboxFilter('x64');
  const x64 = 0xc000003e;
  it('refuses Unix sockets, io_uring, ptrace and friends, TIOCSTI, foreign ABIs; allows the rest', () => {
    expect(verdict(prog, { arch: x64, nr: 41, args: [1] })).toBe('eperm'); // socket(AF_UNIX)
    expect(verdict(prog, { arch: x64, nr: 41, args: [2] })).toBe('allow'); // socket(AF_INET)
    expect(verdict(prog, { arch: x64, nr: 53, args: [1] })).toBe('allow'); // socketpair(AF_UNIX)
    for (const nr of [101, 310, 311, 438, 425, 426, 427])
      expect(verdict(prog, { arch: x64, nr })).toBe('eperm');
    expect(verdict(prog, { arch: x64, nr: 428 })).toBe('allow');
    expect(verdict(prog, { arch: x64, nr: 16, args: [0, 0x5412] })).toBe('eperm'); // TIOCSTI
    expect(verdict(prog, { arch: x64, nr: 16, args: [0, 0x541c] })).toBe('eperm'); // TIOCLINUX
    expect(verdict(prog, { arch: x64, nr: 16, args: [0, 0x5413] })).toBe('allow'); // TIOCGWINSZ
    expect(verdict(prog, { arch: x64, nr: 0x40000000 + 41 })).toBe('eperm'); // x32
    expect(verdict(prog, { arch: 0x40000003, nr: 102 })).toBe('eperm'); // i386 socketcall
    expect(verdict(prog, { arch: x64, nr: 0 })).toBe('allow'); // read
  });
});

describe('bwrap argv', () => {
  it('hides after binding the project, passes the command as arguments, maps root to 65534', () => {
    const argv = bwrapArgv(
      { project: '/p', hidden: ['/'], runDir: '/r', proxySocket: "/r/it's.sock", seccompFile: '/r/f' },
      ['curl', '$(reboot)'],
      0,
    );
    expect(argv.slice(-2)).toEqual(['curl', '$(reboot)']);
    expect(argv.indexOf('--bind')).toBeLessThan(argv.indexOf('--remount-ro'));
    expect(argv).toContain('65534');
    expect(argv.join(' ')).toContain("UNIX-CONNECT:'/r/it'\\''s.sock'");
  });
});
