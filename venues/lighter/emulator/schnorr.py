"""Lighter's Schnorr signatures over ECgFp5 with Poseidon2 hashing, verified in pure Python.

A port of what the venue runs (elliottech/poseidon_crypto, the Go library lighter-go's
signer is built on): the Goldilocks field (p = 2^64 - 2^32 + 1), its quintic extension
GF(p^5) = GF(p)[x]/(x^5 - 3), the ECgFp5 curve in short Weierstrass form, Poseidon2
(width 12, rate 8, plonky2 constants) and `IsSchnorrSignatureValid`: s*G + e*PK = r
with e = H(r || H(m)). Verification only: the emulator never holds a private key.

Checked against the official signer's own outputs (tests/fixtures/lighter/
signing_vectors.sdk-1.1.8.generated.json): tx hashes and signatures of every tx type.
"""

from __future__ import annotations

from collections.abc import Sequence

P = 0xFFFFFFFF00000001  # Goldilocks
ORDER = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241
W = 3  # GF(p^5) = GF(p)[x] / (x^5 - W)
DTH_ROOT = 1041288259238279555  # a primitive 5th root of unity: the Frobenius twist

Fp5 = tuple[int, int, int, int, int]
Point = tuple[Fp5, Fp5, bool]  # affine Weierstrass (x, y, is_infinity)

ZERO: Fp5 = (0, 0, 0, 0, 0)
A: Fp5 = (2, 0, 0, 0, 0)  # the curve's a (the encoding works on it)
B_MUL4: Fp5 = (0, 4 * 263, 0, 0, 0)
A_WEIERSTRASS: Fp5 = (6148914689804861439, 263, 0, 0, 0)
GENERATOR: Point = (
    (11712523173042564207, 14090224426659529053, 13197813503519687414, 16280770174934269299, 15998333998318935536),
    (14639054205878357578, 17426078571020221072, 2548978194165003307, 8663895577921260088, 9793640284382595140),
    False,
)
NEUTRAL: Point = (ZERO, ZERO, True)


# --------------------------------------------------------------------------- GF(p^5)


def add(a: Fp5, b: Fp5) -> Fp5:
    return ((a[0] + b[0]) % P, (a[1] + b[1]) % P, (a[2] + b[2]) % P, (a[3] + b[3]) % P, (a[4] + b[4]) % P)


def sub(a: Fp5, b: Fp5) -> Fp5:
    return ((a[0] - b[0]) % P, (a[1] - b[1]) % P, (a[2] - b[2]) % P, (a[3] - b[3]) % P, (a[4] - b[4]) % P)


def neg(a: Fp5) -> Fp5:
    return (-a[0] % P, -a[1] % P, -a[2] % P, -a[3] % P, -a[4] % P)


def mul(a: Fp5, b: Fp5) -> Fp5:
    a0, a1, a2, a3, a4 = a
    b0, b1, b2, b3, b4 = b
    return (
        (a0 * b0 + W * (a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1)) % P,
        (a0 * b1 + a1 * b0 + W * (a2 * b4 + a3 * b3 + a4 * b2)) % P,
        (a0 * b2 + a1 * b1 + a2 * b0 + W * (a3 * b4 + a4 * b3)) % P,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + W * a4 * b4) % P,
        (a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0) % P,
    )


def scale(a: Fp5, k: int) -> Fp5:
    return (a[0] * k % P, a[1] * k % P, a[2] * k % P, a[3] * k % P, a[4] * k % P)


_FROBENIUS = [[pow(pow(DTH_ROOT, count, P), i, P) for i in range(5)] for count in range(5)]


def frobenius(x: Fp5, count: int = 1) -> Fp5:
    z = _FROBENIUS[count % 5]
    return (x[0], x[1] * z[1] % P, x[2] * z[2] % P, x[3] * z[3] % P, x[4] * z[4] % P)


def _norm_part(x: Fp5, f: Fp5) -> int:
    """The constant term of x * f (all of it when the product lies in GF(p))."""
    return (x[0] * f[0] + W * (x[1] * f[4] + x[2] * f[3] + x[3] * f[2] + x[4] * f[1])) % P


def inverse(a: Fp5) -> Fp5:
    """1 / a (0 for 0), through the norm: a^(r-1) by Frobenius, then one inversion in GF(p)."""
    if a == ZERO:
        return ZERO
    d = frobenius(a)
    e = mul(d, frobenius(d))
    f = mul(e, frobenius(e, 2))
    return scale(f, pow(_norm_part(a, f), P - 2, P))


def div(a: Fp5, b: Fp5) -> Fp5:
    inv = inverse(b)
    if inv == ZERO:
        raise ZeroDivisionError("division by zero in GF(p^5)")
    return mul(a, inv)


def legendre(x: Fp5) -> int:
    f1 = frobenius(x)
    f12 = mul(f1, frobenius(f1))
    norm = mul(mul(x, f12), frobenius(f12, 2))[0]
    return pow(norm, (P - 1) // 2, P)


def _sqrt_base(g: int) -> int | None:
    """A square root in GF(p) (Tonelli-Shanks; p - 1 = 2^32 * odd), or None."""
    if g == 0:
        return 0
    if pow(g, (P - 1) // 2, P) != 1:
        return None
    q, s = (P - 1) >> 32, 32
    m, c, t, r = s, pow(7, q, P), pow(g, q, P), pow(g, (q + 1) // 2, P)  # 7 generates GF(p)*
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2 = t2 * t2 % P
            i += 1
        b = pow(c, 1 << (m - i - 1), P)
        m, c, t, r = i, b * b % P, t * b * b % P, r * b % P
    return r


def _square_power(x: Fp5, power: int) -> Fp5:
    for _ in range(power):
        x = mul(x, x)
    return x


def sqrt(x: Fp5) -> Fp5 | None:
    v = _square_power(x, 31)
    d = mul(mul(x, _square_power(v, 32)), inverse(v))
    e = frobenius(mul(d, frobenius(d, 2)))
    s = _sqrt_base(_norm_part(x, mul(e, e)))
    if s is None:
        return None
    return scale(inverse(e), s)


def _sgn0(x: Fp5) -> bool:
    sign, zero = False, True
    for limb in x:
        sign = sign or (zero and limb & 1 == 0)
        zero = zero and limb == 0
    return sign


def canonical_sqrt(x: Fp5) -> Fp5 | None:
    root = sqrt(x)
    if root is None:
        return None
    return neg(root) if _sgn0(root) else root


# --------------------------------------------------------------------------- the curve

_A_THIRD = div(A, (3, 0, 0, 0, 0))
_HALF = inverse((2, 0, 0, 0, 0))


def decode(w: Fp5) -> Point | None:
    """The point that `w` encodes (a public key, or r), or None if it encodes none."""
    e = sub(mul(w, w), A)
    r = canonical_sqrt(sub(mul(e, e), B_MUL4))
    root = r if r is not None else ZERO
    x1 = mul(add(e, root), _HALF)
    x = x1 if legendre(x1) == 1 else mul(sub(e, root), _HALF)
    y = neg(mul(w, x))
    if r is not None:
        return add(x, _A_THIRD), y, False
    if w == ZERO:
        return NEUTRAL
    return None


def encode(p: Point) -> Fp5:
    x, y, _ = p
    return div(y, sub(_A_THIRD, x))


def point_add(p: Point, q: Point) -> Point:
    if p[2]:
        return q
    if q[2]:
        return p
    (x1, y1, _), (x2, y2, _) = p, q
    if x1 == x2:
        return double(p) if y1 == y2 else NEUTRAL
    lam = div(sub(y2, y1), sub(x2, x1))
    x3 = sub(sub(mul(lam, lam), x1), x2)
    return x3, sub(mul(lam, sub(x1, x3)), y1), False


def double(p: Point) -> Point:
    x, y, inf = p
    if inf:
        return p
    lam = div(add(scale(mul(x, x), 3), A_WEIERSTRASS), add(y, y))
    x2 = sub(mul(lam, lam), add(x, x))
    return x2, sub(mul(lam, sub(x, x2)), y), False


def window(p: Point) -> list[Point]:
    """0 * p .. 15 * p."""
    out = [NEUTRAL, p, double(p)]
    while len(out) < 16:
        out.append(point_add(p, out[-1]))
    return out


_GENERATOR_WINDOW = window(GENERATOR)


def mul_add2(a_window: Sequence[Point], b_window: Sequence[Point], sa: int, sb: int) -> Point:
    """sa * A + sb * B, four bits at a time from the top (both scalars < 2^320)."""
    res = NEUTRAL
    for shift in range(316, -1, -4):
        if not res[2]:
            res = double(double(double(double(res))))
        res = point_add(res, point_add(a_window[(sa >> shift) & 15], b_window[(sb >> shift) & 15]))
    return res


# --------------------------------------------------------------------------- Poseidon2

ROUNDS_F_HALF = 4
EXTERNAL_CONSTANTS: tuple[tuple[int, ...], ...] = (
    (
        15492826721047263190, 11728330187201910315, 8836021247773420868,
        16777404051263952451, 5510875212538051896, 6173089941271892285,
        2927757366422211339, 10340958981325008808, 8541987352684552425,
        9739599543776434497, 15073950188101532019, 12084856431752384512,
    ),
    (
        4584713381960671270, 8807052963476652830, 54136601502601741,
        4872702333905478703, 5551030319979516287, 12889366755535460989,
        16329242193178844328, 412018088475211848, 10505784623379650541,
        9758812378619434837, 7421979329386275117, 375240370024755551,
    ),
    (
        3331431125640721931, 15684937309956309981, 578521833432107983,
        14379242000670861838, 17922409828154900976, 8153494278429192257,
        15904673920630731971, 11217863998460634216, 3301540195510742136,
        9937973023749922003, 3059102938155026419, 1895288289490976132,
    ),
    (
        5580912693628927540, 10064804080494788323, 9582481583369602410,
        10186259561546797986, 247426333829703916, 13193193905461376067,
        6386232593701758044, 17954717245501896472, 1531720443376282699,
        2455761864255501970, 11234429217864304495, 4746959618548874102,
    ),
    (
        13571697342473846203, 17477857865056504753, 15963032953523553760,
        16033593225279635898, 14252634232868282405, 8219748254835277737,
        7459165569491914711, 15855939513193752003, 16788866461340278896,
        7102224659693946577, 3024718005636976471, 13695468978618890430,
    ),
    (
        8214202050877825436, 2670727992739346204, 16259532062589659211,
        11869922396257088411, 3179482916972760137, 13525476046633427808,
        3217337278042947412, 14494689598654046340, 15837379330312175383,
        8029037639801151344, 2153456285263517937, 8301106462311849241,
    ),
    (
        13294194396455217955, 17394768489610594315, 12847609130464867455,
        14015739446356528640, 5879251655839607853, 9747000124977436185,
        8950393546890284269, 10765765936405694368, 14695323910334139959,
        16366254691123000864, 15292774414889043182, 10910394433429313384,
    ),
    (
        17253424460214596184, 3442854447664030446, 3005570425335613727,
        10859158614900201063, 9763230642109343539, 6647722546511515039,
        909012944955815706, 18101204076790399111, 11588128829349125809,
        15863878496612806566, 5201119062417750399, 176665553780565743,
    ),
)
INTERNAL_CONSTANTS: tuple[int, ...] = (
    11921381764981422944, 10318423381711320787, 8291411502347000766,
    229948027109387563, 9152521390190983261, 7129306032690285515,
    15395989607365232011, 8641397269074305925, 17256848792241043600,
    6046475228902245682, 12041608676381094092, 12785542378683951657,
    14546032085337914034, 3304199118235116851, 16499627707072547655,
    10386478025625759321, 13475579315436919170, 16042710511297532028,
    1411266850385657080, 9024840976168649958, 14047056970978379368,
    838728605080212101,
)
MATRIX_DIAG: tuple[int, ...] = (
    14102670999874605824, 15585654191999307702, 940187017142450255,
    8747386241522630711, 6750641561540124747, 7440998025584530007,
    6136358134615751536, 12413576830284969611, 11675438539028694709,
    17580553691069642926, 892707462476851331, 15167485180850043744,
)


def _external(s: list[int]) -> list[int]:
    """The external linear layer (4x4 MDS blocks, then the column sums)."""
    for i in (0, 4, 8):
        s0, s1, s2, s3 = s[i], s[i + 1], s[i + 2], s[i + 3]
        t01, t23 = s0 + s1, s2 + s3
        t0123 = t01 + t23
        s[i], s[i + 1], s[i + 2], s[i + 3] = t0123 + t01 + s1, t0123 + s1 + 2 * s2, t0123 + t23 + s3, t0123 + s3 + 2 * s0
    sums = [s[k] + s[k + 4] + s[k + 8] for k in range(4)]
    return [(s[i] + sums[i % 4]) % P for i in range(12)]


def _full_round(s: list[int], constants: Sequence[int]) -> list[int]:
    return _external([pow((v + c) % P, 7, P) for v, c in zip(s, constants, strict=True)])


def permute(state: Sequence[int]) -> list[int]:
    s = _external(list(state))
    for r in range(ROUNDS_F_HALF):
        s = _full_round(s, EXTERNAL_CONSTANTS[r])
    for c in INTERNAL_CONSTANTS:
        s[0] = pow((s[0] + c) % P, 7, P)
        total = sum(s)
        s = [(total + v * m) % P for v, m in zip(s, MATRIX_DIAG, strict=True)]
    for r in range(ROUNDS_F_HALF, 2 * ROUNDS_F_HALF):
        s = _full_round(s, EXTERNAL_CONSTANTS[r])
    return s


def hash_no_pad(elements: Sequence[int], outputs: int) -> list[int]:
    """Poseidon2 sponge (overwrite mode, no padding, rate 8) squeezed to `outputs` elements."""
    state = [0] * 12
    for i in range(0, len(elements), 8):
        chunk = elements[i : i + 8]
        state[: len(chunk)] = [v % P for v in chunk]
        state = permute(state)
    out: list[int] = []
    while True:
        out.extend(state[: min(8, outputs - len(out))])
        if len(out) == outputs:
            return out
        state = permute(state)


def hash_to_fp5(elements: Sequence[int]) -> Fp5:
    """Poseidon2 of field elements as one GF(p^5) element (lighter-go HashToQuinticExtension)."""
    h = hash_no_pad(elements, 5)
    return h[0], h[1], h[2], h[3], h[4]


# --------------------------------------------------------------------------- signatures


def fp5_from_bytes(data: bytes) -> Fp5 | None:
    """Five little-endian 64-bit limbs (40 bytes); None unless each is below p."""
    if len(data) != 40:
        return None
    l0, l1, l2, l3, l4 = (int.from_bytes(data[i : i + 8], "little") for i in range(0, 40, 8))
    if max(l0, l1, l2, l3, l4) >= P:
        return None
    return l0, l1, l2, l3, l4


def fp5_to_bytes(value: Fp5) -> bytes:
    return b"".join(limb.to_bytes(8, "little") for limb in value)


class PublicKey:
    """A decoded public key and its window of multiples, reused for every signature."""

    __slots__ = ("encoded", "_window")

    def __init__(self, encoded: bytes) -> None:
        w = fp5_from_bytes(encoded)
        point = decode(w) if w is not None else None
        if point is None or point[2]:
            raise ValueError("not a public key: the bytes encode no curve point")
        self.encoded = bytes(encoded)
        self._window = window(point)

    def verify(self, signature: bytes, *messages: Fp5) -> bool:
        """Is `signature` (s || e, 80 bytes little-endian) this key's over one of the hashed
        `messages`? (s*G + e*PK is computed once: only the final hash is per message.)"""
        if len(signature) != 80:
            return False
        s = int.from_bytes(signature[:40], "little")
        e = int.from_bytes(signature[40:], "little")
        if s >= ORDER or e >= ORDER:
            return False
        try:
            r = encode(mul_add2(_GENERATOR_WINDOW, self._window, s, e))
        except ZeroDivisionError:
            return False
        for message in messages:
            digest = hash_to_fp5([*r, *message])
            if sum(limb << (64 * i) for i, limb in enumerate(digest)) % ORDER == e:
                return True
        return False


def public_key_of(private_key: bytes) -> bytes:
    """The public key (40 bytes) of a private key (40 bytes little-endian), as the signer derives it."""
    scalar = int.from_bytes(private_key, "little") % ORDER
    return fp5_to_bytes(encode(mul_add2(_GENERATOR_WINDOW, window(NEUTRAL), scalar, 0)))
