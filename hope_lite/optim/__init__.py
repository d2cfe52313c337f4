"""Deep optimizers: an optimizer's state is an associative memory of gradients (docs/paper.md §3).

One module per family: ``base`` (the MemoryOptimizer base class, Newton-Schulz), ``momentum``
(momentum as a memory and its richer variants, Muon), ``m3`` (M3) and ``dgd`` (DGD).

Notebook 02 shows that gradient descent is a one-level memory and momentum a second level;
notebook 03 builds richer memories into richer optimizers. Every optimizer here is a
``torch.optim.Optimizer`` (param groups, ``state_dict``/``load_state_dict``, closures, any
device) and declares its levels, so ``levels_of(model, optimizer)`` shows
weights <- momentum <- ... with clocks and periods, and an :class:`~hope_lite.levels.UpdateRecorder`
sees the updates that really happen.

Every hyperparameter may be set per param group, and every group (given to the constructor or
added with ``add_param_group``) is checked by the rule that checks the constructor's argument: each
optimizer's ``HYPERPARAMETERS`` maps a name to its rule, and a bad value is refused with e.g.
``param group 1: momentum must be a finite number in [0, 1), got 3.`` Parameters with no elements
are left as they are.

=========================  ===========================================  ==========================================
optimizer                  the momentum memory's internal objective     update (g = gradient, W -= lr * output)
=========================  ===========================================  ==========================================
MomentumSGD                -<m, g>          (Hebbian, key-less)        m <- beta m + g
PreconditionedMomentum     -<m, P g>        (value P g)                m <- beta m + P g,  P = diag(1/(sqrt(v)+eps))
DeltaMomentum              1/2 (<m, k> - |g|)^2, k = g/|g|  (L2)        m <- beta m - gamma <m, k> k + g
DeepMomentum (DMGD)        1/2 |m_phi(k) - g|^2, m_phi an MLP           phi <- alpha phi - eta grad;  output m_phi(k)
NewtonSchulzMomentum       any of the above, output NS(m)               W -= lr * NS_T(m)  (= Muon for MomentumSGD)
M3                         fast + slow (every f steps) momentum         W -= lr (s1 NS(M1) + a s2 NS(M2))
                                                                        s = |M / sqrt(V)| / |NS(M)| (Adam's size)
DeltaGradientDescent       1/2 |W x - u|^2 + |W - W_t|^2 / 2eta          W <- W (I - eta' x x^T) - eta' grad_y L x^T
=========================  ===========================================  ==========================================
"""

from .base import NS_COEFFICIENTS, MemoryOptimizer, newton_schulz
from .dgd import DeltaGradientDescent, dgd_step
from .m3 import M3
from .momentum import DeepMomentum, DeltaMomentum, MomentumSGD, Muon, NewtonSchulzMomentum, PreconditionedMomentum

__all__ = [
    "MemoryOptimizer", "MomentumSGD", "PreconditionedMomentum", "DeltaMomentum", "DeepMomentum",
    "NewtonSchulzMomentum", "Muon", "M3", "DeltaGradientDescent", "newton_schulz", "dgd_step",
    "NS_COEFFICIENTS",
]
