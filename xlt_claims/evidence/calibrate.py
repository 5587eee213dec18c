"""Similarity thresholds calibrated per embedding model on a fixed, report-independent set of pairs.

Cosine scales differ between sentence-transformers models (MiniLM spreads 0..1, E5 crowds 0.7..0.9), so
no absolute cut-off transfers. Instead each model is measured on three kinds of sentence pairs written
for this purpose, spanning several fields and none of the seed reports' topics:

  SUPPORT   a claim and a source sentence that states it in other words;
  TOPICAL   a claim and a sentence on the same topic that does not state it;
  UNRELATED a claim and a sentence from another field (all cross pairs).

`support` is the threshold that best separates SUPPORT from TOPICAL and `related` the one that best
separates SUPPORT+TOPICAL from UNRELATED, both by Youden's J (max TPR - FPR). Similarity is then only a
necessary condition: stance also needs numbers, entities and polarity to agree (see stance.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# (claim, stating sentence, same-topic non-stating sentence)
PAIRS: list[tuple[str, str, str]] = [
    ("The model improves accuracy on ImageNet by 1.2 points.",
     "Our model improves top-1 accuracy on ImageNet by 1.2 percentage points over the ResNet-50 baseline.",
     "ImageNet contains over one million labeled images in 1,000 classes."),
    ("Dropout reduces overfitting in deep networks.",
     "We show that dropout substantially reduces overfitting in large neural networks.",
     "Batch normalization normalizes the activations within each mini-batch."),
    ("Pre-training on large unlabeled corpora helps low-resource tasks.",
     "Pre-training on large amounts of unlabeled text yields large gains on tasks with little labeled data.",
     "Collecting labeled data for low-resource languages is expensive."),
    ("Larger batch sizes require higher learning rates.",
     "When the batch size is increased, the learning rate must be scaled up accordingly.",
     "We train all models with the Adam optimizer for 10 epochs."),
    ("The proposed parser is faster than previous transition-based parsers.",
     "Our parser runs considerably faster than earlier transition-based parsing systems.",
     "Dependency parsing assigns a syntactic head to every word of the sentence."),
    ("Data augmentation with back-translation improves translation quality.",
     "Augmenting the training data with back-translated sentences improves BLEU on all language pairs.",
     "Neural machine translation systems are usually trained on parallel corpora."),
    ("The method achieves state-of-the-art results on three summarization benchmarks.",
     "The method sets a new state of the art on three summarization datasets.",
     "Abstractive summaries can contain facts that are not in the source document."),
    ("Knowledge distillation produces smaller models with similar accuracy.",
     "Distilling the teacher into a smaller student retains most of its accuracy with far fewer parameters.",
     "Large language models are expensive to deploy on mobile devices."),
    ("Attention weights do not always explain model predictions.",
     "We find that attention weights frequently fail to provide faithful explanations of predictions.",
     "The transformer relies entirely on self-attention layers."),
    ("Word embeddings capture gender bias.",
     "We show that word embeddings trained on news text encode gender stereotypes.",
     "Word2vec learns word vectors by predicting the surrounding context words."),
    ("Adversarial examples transfer between models.",
     "Adversarial examples crafted for one model often fool other models as well.",
     "Adversarial training increases the training cost by a factor of three."),
    ("Fine-tuning all layers outperforms training only the classifier head.",
     "Updating all layers during fine-tuning gives better results than training only the final classification layer.",
     "The classifier head is a single linear layer on top of the pooled output."),
    ("The dataset contains 10,000 annotated dialogues.",
     "We release a corpus of 10,000 dialogues annotated with dialogue acts.",
     "Annotators were paid above the local minimum wage."),
    ("Curriculum learning speeds up convergence.",
     "Presenting training examples from easy to hard makes training converge faster.",
     "The difficulty of an example is measured by its sentence length."),
    ("Performance drops for languages with non-Latin scripts.",
     "Accuracy is markedly lower on languages written in non-Latin scripts.",
     "The benchmark covers forty languages from twelve language families."),
    ("Ensembling several checkpoints improves robustness.",
     "An ensemble of checkpoints is more robust than any single model.",
     "Checkpoints are saved every 1,000 training steps."),
    ("The approach requires no parallel data.",
     "Our approach does not need any parallel sentences.",
     "Parallel corpora are available for only a few language pairs."),
    ("Quantization to 8 bits barely affects accuracy.",
     "Quantizing the weights to 8-bit integers causes only a negligible loss in accuracy.",
     "Inference latency is measured on a single CPU core."),
    ("The vaccine reduced hospitalisation rates in older adults.",
     "Vaccination lowered the rate of hospital admission among adults over 65.",
     "The trial enrolled participants from twelve countries."),
    ("Model size correlates with few-shot performance.",
     "Few-shot performance improves steadily as the number of parameters grows.",
     "Few-shot prompts contain between one and thirty-two examples."),
    ("Soil moisture predicts crop yield in dry regions.",
     "In arid regions, crop yields are strongly predicted by soil moisture.",
     "Soil samples were collected at a depth of 30 cm."),
    ("Graph neural networks struggle with long-range dependencies.",
     "Message passing networks fail to capture interactions between distant nodes.",
     "Graph neural networks aggregate features from neighbouring nodes."),
]


@dataclass
class Thresholds:
    model_id: str
    support: float
    related: float
    support_pairs_median: float
    topical_pairs_median: float
    unrelated_pairs_p95: float
    n_pairs: int

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def youden_threshold(pos: np.ndarray, neg: np.ndarray) -> float:
    """The cut-off maximising TPR - FPR (ties: the middle of the best plateau)."""
    cands = np.unique(np.concatenate([pos, neg]))
    mids = np.concatenate([[cands[0] - 1e-6], (cands[:-1] + cands[1:]) / 2, [cands[-1] + 1e-6]])
    js = np.array([(pos >= t).mean() - (neg >= t).mean() for t in mids])
    best = np.flatnonzero(js >= js.max() - 1e-12)
    return float((mids[best[0]] + mids[best[-1]]) / 2)


_CACHE: dict[str, Thresholds] = {}


def calibrate(embedder) -> Thresholds:
    if embedder.model_id in _CACHE:
        return _CACHE[embedder.model_id]
    claims = [p[0] for p in PAIRS]
    sup = [p[1] for p in PAIRS]
    top = [p[2] for p in PAIRS]
    V = embedder.encode(claims + sup + top)
    n = len(PAIRS)
    C, S, T = V[:n], V[n:2 * n], V[2 * n:]
    s_sup = np.sum(C * S, axis=1)
    s_top = np.sum(C * T, axis=1)
    cross = C @ T.T
    s_unrel = cross[~np.eye(n, dtype=bool)]
    th = Thresholds(
        model_id=embedder.model_id,
        support=youden_threshold(s_sup, s_top),
        related=youden_threshold(np.concatenate([s_sup, s_top]), s_unrel),
        support_pairs_median=float(np.median(s_sup)),
        topical_pairs_median=float(np.median(s_top)),
        unrelated_pairs_p95=float(np.quantile(s_unrel, 0.95)),
        n_pairs=n,
    )
    _CACHE[embedder.model_id] = th
    return th
