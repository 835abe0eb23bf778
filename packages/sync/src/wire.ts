import { z } from 'zod';

// The sync protocol's bodies, shared by the server (which parses requests with them and types its answers by them)
// and the client (which parses every answer with them before trusting anything in it). Signatures are checked by
// clients, never by the server. The error bodies and codes are in wire-errors.ts.

/** Base64 (standard alphabet), bounded. */
export const B64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/)
  .max(4096);
/** An id chosen by a client or the server. */
export const ID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
/** A user id. */
export const USER_ID = z.string().regex(/^usr_[A-Za-z0-9_-]{16,64}$/);
/** A workspace id. */
export const WORKSPACE_ID = z.string().regex(/^ws_[A-Za-z0-9_-]{16,64}$/);
/** A secret name (the rule of `assertSecretName`). */
export const SECRET_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/);
/** An environment name. */
export const ENVIRONMENT = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
/** A workspace name: printable, so a name a server lists cannot carry terminal control sequences. */
export const WORKSPACE_NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
/** An email: no whitespace or control characters (PostgreSQL refuses NUL in text), compared in lower case. */
export const EMAIL = z
  .string()
  .min(3)
  .max(254)
  .regex(/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u)
  .transform((e) => e.toLowerCase());
/** An email as signed into a roster: already in lower case (a transform would change signed bytes). */
const STORED_EMAIL = z
  .string()
  .min(3)
  .max(254)
  .regex(/^[^\s@\p{Cc}\p{Lu}]+@[^\s@\p{Cc}\p{Lu}]+$/u);
const HEX64 = z.string().regex(/^[0-9a-f]{64}$/);
const FINGERPRINT = z.string().regex(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
const SERIAL = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);

/** One member of a signed roster. */
export const RosterMemberSchema = z
  .object({
    userId: USER_ID,
    email: STORED_EMAIL,
    role: z.enum(['admin', 'member']),
    boxPublicKey: B64,
    signingPublicKey: B64,
  })
  .strict();

/** One version of a workspace's member roster, signed by an admin. */
export const SignedRosterSchema = z
  .object({
    workspaceId: WORKSPACE_ID,
    serial: SERIAL,
    prev: HEX64.nullable(),
    keyVersion: SERIAL,
    members: z.array(RosterMemberSchema).min(1).max(10_000),
    signer: B64,
    signature: B64,
  })
  .strict();

/** A workspace key sealed to one member, signed by an admin. */
export const KeyGrantSchema = z
  .object({
    workspaceId: WORKSPACE_ID,
    keyVersion: SERIAL,
    rosterSerial: SERIAL,
    recipient: USER_ID,
    recipientFingerprint: FINGERPRINT,
    sealedKey: B64,
    signer: B64,
    signature: B64,
  })
  .strict();

/** `POST /v1/workspaces`: a workspace made on the client, with its first roster and the creator's key grant. */
export const CreateWorkspaceRequestSchema = z
  .object({
    id: WORKSPACE_ID,
    name: WORKSPACE_NAME,
    roster: SignedRosterSchema,
    grant: KeyGrantSchema,
  })
  .strict();

/** One entry of `GET /v1/workspaces`. `grant` is null for a workspace made before signed rosters. */
export const WorkspaceEntrySchema = z.object({
  id: WORKSPACE_ID,
  name: WORKSPACE_NAME,
  role: z.string().max(16),
  keyVersion: SERIAL,
  rotationPending: z.boolean(),
  grant: KeyGrantSchema.nullable(),
  /** The legacy sealed key (workspaces made before signed rosters), for `workspace upgrade` only. */
  sealedKey: B64.optional(),
});

/** `GET /v1/workspaces/:ws/roster`: every version, oldest first. */
export const RosterListSchema = z.object({ rosters: z.array(SignedRosterSchema).max(100_000) });

/** `PUT /v1/workspaces/:ws/roster`: the next version, and a key grant for each member it admits. */
export const RosterUpdateRequestSchema = z
  .object({
    roster: SignedRosterSchema,
    grants: z.array(KeyGrantSchema).max(10_000),
  })
  .strict();

/** `POST /v1/workspaces/:ws/secrets/:project/:env`: a push, applied all or nothing. */
export const PushRequestSchema = z
  .object({
    keyVersion: SERIAL,
    secrets: z
      .array(z.object({ name: SECRET_NAME, version: SERIAL, ciphertext: B64 }).strict())
      .min(1)
      .max(100_000),
  })
  .strict();

/** What a push that lost a race answers (409): the names whose version moved, with the current version. */
export const PushConflictSchema = z.object({
  conflicts: z.array(z.object({ name: SECRET_NAME, current: z.number().int().min(0) })),
});

/** `POST /v1/workspaces/:ws/rotate`: the new key granted to every member of the newest roster, secrets re-encrypted. */
export const RotateRequestSchema = z
  .object({
    keyVersion: SERIAL,
    grants: z.array(KeyGrantSchema).max(10_000),
    secrets: z
      .array(
        z
          .object({
            projectId: ID,
            environment: ENVIRONMENT,
            name: SECRET_NAME,
            version: SERIAL,
            ciphertext: B64,
          })
          .strict(),
      )
      .max(100_000),
  })
  .strict();

/** A stored secret as `GET …/secrets/:project/:env` lists it. */
export const StoredSecretSchema = z.object({
  name: SECRET_NAME,
  version: SERIAL,
  ciphertext: B64,
  keyVersion: SERIAL,
});

/** A stored secret of any project, as `GET /v1/workspaces/:ws/secrets` lists it for a rotation. */
export const WorkspaceSecretSchema = StoredSecretSchema.extend({ projectId: ID, environment: ENVIRONMENT });

/** A signed team policy as stored and served. */
export const SignedPolicySchema = z
  .object({
    workspaceId: WORKSPACE_ID,
    serial: SERIAL,
    allowlist: z.array(z.string().max(300)).max(10_000),
    bindings: z.record(
      SECRET_NAME,
      z.array(z.looseObject({ destination: z.string().max(512), methods: z.array(z.string().max(16)) })),
    ),
    signer: B64,
    signature: B64,
  })
  // Fields a newer client signed are kept (the signature covers them) rather than dropped.
  .loose();

/** One invite of `GET /v1/workspaces/:ws/invites` (admin): the invitee's public keys once they accepted. */
export const InviteSchema = z.object({
  id: ID,
  email: STORED_EMAIL,
  status: z.enum(['pending', 'accepted']),
  userId: USER_ID.nullable(),
  boxPublicKey: B64.nullable(),
  signingPublicKey: B64.nullable(),
});

// Accounts and sessions.

/** The salt and Argon2id parameters of an account (`POST /v1/auth/prelogin` answers it; sign-up proposes it). */
export const KdfOfferSchema = z.object({
  salt: B64,
  params: z.object({
    memoryKiB: z.number().int(),
    iterations: z.number().int(),
    parallelism: z.number().int(),
  }),
});

/** `POST /v1/auth/prelogin`. */
export const PreloginRequestSchema = z.object({ email: EMAIL });

/** The public keys of a user and the private ones sealed under their encryption key. */
export const SealedUserKeysSchema = z.object({
  boxPublicKey: B64,
  signingPublicKey: B64,
  sealedPrivateKeys: B64,
});

/** `POST /v1/auth/signup`: ids, salt and key pairs are made on the client, so its keys are bound to its id. */
export const SignupRequestSchema = z.object({
  userId: USER_ID,
  email: EMAIL,
  authKey: B64,
  kdf: KdfOfferSchema,
  keys: SealedUserKeysSchema,
});

/** `POST /v1/auth/login`: the authentication key derived from the password (never the password). */
export const LoginRequestSchema = z.object({ email: EMAIL, authKey: B64 });

const TOKEN = z.string().min(1).max(1024);
/** A refresh token as a client presents it. */
const REFRESH_TOKEN = z.string().max(200);

/** `POST /v1/auth/refresh` and `POST /v1/auth/logout`. */
export const RefreshRequestSchema = z.object({ refreshToken: REFRESH_TOKEN });

/** What `POST /v1/auth/refresh` answers: both tokens rotate. */
export const TokenPairSchema = z.object({ accessToken: TOKEN, refreshToken: REFRESH_TOKEN.min(1) });

/** What `POST /v1/auth/login` answers. */
export const LoginResponseSchema = TokenPairSchema.extend({ userId: USER_ID, keys: SealedUserKeysSchema });

// Workspaces, members and invites.

/** What `POST /v1/workspaces` answers (201). */
export const CreatedWorkspaceSchema = z.object({
  id: WORKSPACE_ID,
  name: WORKSPACE_NAME,
  keyVersion: SERIAL,
});

/** `POST /v1/workspaces/:ws/invites` (admin). */
export const InviteRequestSchema = z.object({ email: EMAIL });

/** One invite waiting for the caller, as `GET /v1/invites` lists it. */
export const MyInviteSchema = z.object({
  id: ID,
  workspaceId: ID,
  workspaceName: WORKSPACE_NAME,
  status: z.string().max(16),
});

/** One member as `GET /v1/workspaces/:ws/members` lists it (as the server says: the signed roster is the truth). */
export const MemberSchema = z.object({
  userId: USER_ID,
  email: STORED_EMAIL,
  role: z.string().max(16),
  boxPublicKey: B64,
  signingPublicKey: B64,
});

// Secrets.

/** What an applied push answers (201). */
export const PushedSchema = z.object({ pushed: z.number().int().min(0) });

/** One version of a secret, as `GET …/secrets/:project/:env/:name/versions` lists them, newest first. */
export const SecretVersionSchema = z.object({
  version: SERIAL,
  ciphertext: B64,
  keyVersion: SERIAL,
  createdAt: z.number().int(),
});

// Team policy.

/** `PUT /v1/workspaces/:ws/policy` (admin): a policy signed on the client, with a serial above the stored one. */
export const PolicyUploadSchema = z.object({ policy: SignedPolicySchema });

/** What `GET /v1/workspaces/:ws/policy` answers: the newest stored policy (unverified), or null. */
export const StoredPolicySchema = z.object({ policy: SignedPolicySchema.nullable() });
