"""An independent float64 reference of the `epsilon-plus` composite with `--zero-params bias --epsilon 0`
for torchvision CNNs, written from the LRP definitions (docs/lrp.md §3), not from the compiler: the
model runs under a torch function mode that swaps every layer with a rule for an autograd function
whose backward pass is that rule (relevance form), so `x.grad` after seeding the logits with the
one-hot target is the relevance. Re-routing (cat, chunk, view, transpose, flatten, max pooling,
padding) keeps PyTorch's own autograd: what the compiler must reproduce with its VJPs.

  conv (+ the BatchNorm right after it, folded)  z-plus: x⁺ ⊙ adj(W⁺, s) + x⁻ ⊙ adj(W⁻, s),
                                                 s = R / stab(L(W⁺, x⁺) + L(W⁻, x⁻))
  linear                                         epsilon, ε = 0: x ⊙ Wᵀ (R / (Wx)), 0 where Wx = 0
  ReLU, ReLU6, SiLU, hard-swish, other BatchNorm pass
  mean, average pools                            norm: x ⊙ J(x)ᵀ (R / stab(f(x)))
  residual add of two computed tensors           norm: a ⊙ R / stab(a + b)
  x · gate (gate from a sigmoid / hard sigmoid)  signal: all relevance to x

stab(z) = z + sgn(z)·1e-6 (sgn(0) = +1), the compiler's default stabiliser. The forward pass keeps
every bias; only the rules' denominators drop them."""
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

EPS = 1e-6


def stab(z):
    return z + torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z)) * EPS


def safe_div(a, b):
    return torch.where(b == 0, torch.zeros_like(a), a / torch.where(b == 0, torch.ones_like(b), b))


class ZPlusConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, geometry):
        ctx.save_for_backward(x, weight)
        ctx.geometry = geometry
        return F.conv2d(x, weight, bias, *geometry)

    @staticmethod
    def backward(ctx, R):
        x, w = ctx.saved_tensors
        with torch.enable_grad():
            xp = x.clamp(min=0).detach().requires_grad_()
            xn = x.clamp(max=0).detach().requires_grad_()
            z = F.conv2d(xp, w.clamp(min=0), None, *ctx.geometry) + F.conv2d(xn, w.clamp(max=0), None, *ctx.geometry)
            gp, gn = torch.autograd.grad(z, [xp, xn], R / stab(z))
        return xp * gp + xn * gn, None, None, None


class EpsilonZeroLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, R):
        x, W = ctx.saved_tensors
        return x * (safe_div(R, x @ W.T) @ W), None, None


class Pass(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, f):
        return f(x)

    @staticmethod
    def backward(ctx, R):
        return R, None


class NormOf(torch.autograd.Function):
    """The norm rule around f (a mean or an average pool, linear in x): x ⊙ J(x)ᵀ (R / stab(f(x)))."""

    @staticmethod
    def forward(ctx, x, f):
        ctx.save_for_backward(x)
        ctx.f = f
        return f(x)

    @staticmethod
    def backward(ctx, R):
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            u = x.detach().requires_grad_()
            y = ctx.f(u)
            (g,) = torch.autograd.grad(y, u, R / stab(y.detach()))
        return x * g, None


class NormAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b

    @staticmethod
    def backward(ctx, R):
        a, b = ctx.saved_tensors
        s = R / stab(a + b)
        return a * s, b * s


class SignalGate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, signal, gate):
        return signal * gate

    @staticmethod
    def backward(ctx, R):
        return R, None


def _conv_geometry(args, kwargs):
    names = ['stride', 'padding', 'dilation', 'groups']
    defaults = [1, 0, 1, 1]
    return tuple(args[3 + i] if len(args) > 3 + i else kwargs.get(n, d) for i, (n, d) in enumerate(zip(names, defaults)))


class _Rules(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.conv_of = {}  # id(conv output) -> (x, weight, bias, geometry), to fold a following BatchNorm
        self.squashed = set()  # ids of sigmoid / hard-sigmoid outputs (gates)
        self.keep = []  # keeps the keyed tensors alive so their ids stay unique

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, '__name__', '')
        if func is F.conv2d:
            x, w = args[0], args[1]
            b = args[2] if len(args) > 2 else kwargs.get('bias')
            geometry = _conv_geometry(args, kwargs)
            y = ZPlusConv.apply(x, w, b, geometry)
            self.conv_of[id(y)] = (x, w, b, geometry)
            self.keep.append(y)
            return y
        if func is F.batch_norm:
            x = args[0]
            running_mean, running_var = args[1], args[2]
            weight = kwargs.get('weight', args[3] if len(args) > 3 else None)
            bias = kwargs.get('bias', args[4] if len(args) > 4 else None)
            eps = kwargs.get('eps', args[7] if len(args) > 7 else 1e-5)
            scale = weight / torch.sqrt(running_var + eps)
            shift = bias - running_mean * scale
            if id(x) in self.conv_of:
                cx, w, b, geometry = self.conv_of[id(x)]
                fused_b = shift + (b * scale if b is not None else 0)
                return ZPlusConv.apply(cx, w * scale.view(-1, 1, 1, 1), fused_b, geometry)
            return Pass.apply(x, lambda u: u * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1))
        if func is F.linear:
            return EpsilonZeroLinear.apply(args[0], args[1], args[2] if len(args) > 2 else kwargs.get('bias'))
        if func in (F.relu, torch.relu, torch.relu_, F.relu6, F.hardtanh, F.silu, F.hardswish) or name in ('relu', 'relu_'):
            return Pass.apply(args[0], lambda u: func(u.clone(), *args[1:], **kwargs))
        if func in (F.sigmoid, torch.sigmoid, F.hardsigmoid) or name in ('sigmoid', 'hardsigmoid'):
            y = func(*args, **{k: v for k, v in kwargs.items() if k != 'inplace'})
            self.squashed.add(id(y))
            self.keep.append(y)
            return y
        if name == 'mean' or func in (F.adaptive_avg_pool2d, F.avg_pool2d):
            return NormOf.apply(args[0], lambda u: func(u, *args[1:], **kwargs))
        if name in ('add', '__add__', 'add_', '__iadd__', '__radd__') and len(args) == 2 and not kwargs:
            a, b = args
            if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.requires_grad and b.requires_grad and a.shape == b.shape:
                return NormAdd.apply(a, b)
        if name in ('mul', '__mul__', 'mul_', '__rmul__') and len(args) == 2 and not kwargs:
            a, b = args
            if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.requires_grad and b.requires_grad:
                if id(a) in self.squashed and id(b) not in self.squashed:
                    return SignalGate.apply(b, a)
                if id(b) in self.squashed and id(a) not in self.squashed:
                    return SignalGate.apply(a, b)
                raise NotImplementedError('reference LRP: a product of two computed tensors that is not a gate')
        return func(*args, **kwargs)


def epsilon_plus_reference(net, x, targets):
    """Relevance (float32, shaped like x) of `x` for the one-hot `targets` (one class index per sample)."""
    net = net.eval().double()
    u = x.double().clone().requires_grad_()
    with _Rules():
        logits = net(u)
    seed = torch.zeros_like(logits)
    seed[torch.arange(len(targets)), torch.tensor(targets)] = 1
    logits.backward(seed)
    net.float()
    return u.grad.detach().float()
