"""The default topic taxonomy: ten topics, each with category and keyword rules.

Written from what each topic means (tests/eval/topics/README.md gives the definitions) and
from what arXiv's categories hold, not fitted to any list of papers. The rules lean towards
precision: a subscriber who excludes a topic must not lose papers that merely mention a word.

- A category decides only where its scope is the topic's: cs.RO is robotics, cs.SD and
  eess.AS speech, cs.MA agents, the natural-science archives science. cs.CL and cs.CV hold
  more than their topics (agents and speech translation; video), so they decide nothing.
- Title keywords are the strongest text evidence: a title names the paper's subject.
- A topic whose words have another sense in a neighbouring topic yields to it there
  (``unless_topics``): "safety" of robots and vehicles is robotics, the "LLM" of an LLM agent
  is the agent's engine.
- Abstract keywords must occur ``ABSTRACT_MATCHES`` times: the subject of an abstract recurs,
  a passing mention does not. Words with a common other sense ("alignment", "attention",
  "bias", "detection", "motion", "pruning", "agent" in RL) appear only inside phrases that fix
  the sense ("value alignment", "sparse attention", "gender bias", "object detection").
"""

from __future__ import annotations

from typing import Any

ABSTRACT_MATCHES = 2


def _terms(text: str) -> list[str]:
    """'a; b c; d' -> ['a', 'b c', 'd'] (keywords written as running text, one topic a block)."""
    return [term.strip() for term in text.split(";") if term.strip()]


# Natural, life, medical and earth sciences (whole archives and physics subject classes).
SCIENCE_ARCHIVES = _terms(
    "astro-ph; cond-mat; gr-qc; hep-ex; hep-lat; hep-ph; hep-th; nucl-ex; nucl-th; physics; "
    "q-bio; quant-ph"
)

DEFAULT_TOPICS: dict[str, dict[str, Any]] = {
    "llm": {
        # An LLM agent's "LLM" is its engine; the paper is about the agent (agents).
        "unless_topics": ["agents"],
        "title_keywords": _terms(
            "language model; LLM; large language; GPT; chain-of-thought; reasoning model; RLHF; "
            "instruction tuning; in-context learning; retrieval-augmented; RAG; SFT; supervised "
            "fine-tuning; reward model; decoding; hallucination; question answering; NLP"
        ),
        "abstract_keywords": _terms(
            "language model; LLM; large language; chain-of-thought; reasoning model; RLHF; "
            "instruction tuning; in-context learning; retrieval-augmented generation; "
            "pre-training; post-training; supervised fine-tuning; reward model; hallucination"
        ),
    },
    "agents": {
        "arxiv_categories": ["cs.MA"],
        "title_keywords": _terms(
            "agent; agentic; multi-agent; tool use; tool-use; tool calling; function calling; "
            "computer use; computer-use; web navigation"
        ),
        "abstract_keywords": _terms(
            "LLM agent; language agent; AI agent; agentic; multi-agent system; tool use; tool "
            "calling; function calling; web agent; GUI agent; computer-use; web navigation; "
            "autonomous agent"
        ),
    },
    "vision": {
        "title_keywords": _terms(
            "image; visual; computer vision; vision-language model; vision transformer; vision "
            "encoder; vision foundation model; VLM; segmentation; object detection; 3D "
            "reconstruction; 3D scene; 3D generation; point cloud; Gaussian splatting; radiance "
            "field; NeRF; depth estimation; pose estimation; text-to-image; photo; image editing; "
            "image generation; novel view synthesis; visual grounding; visual question answering; "
            "OCR; face recognition; re-identification; 3D object; 3D Gaussian; neural rendering; "
            "3D rendering; medical imaging"
        ),
        "abstract_keywords": _terms(
            "image; vision-language model; visual understanding; visual generation; segmentation; "
            "object detection; 3D reconstruction; point cloud; Gaussian splatting; pixel; "
            "text-to-image; novel view synthesis; visual grounding; medical imaging"
        ),
    },
    "video": {
        "title_keywords": _terms("video; videos"),
        "abstract_keywords": _terms("video; videos"),
    },
    "robotics": {
        "arxiv_categories": ["cs.RO"],
        "title_keywords": _terms(
            "robot; robotic; robotics; humanoid; quadruped; locomotion; grasping; dexterous; "
            "drone; UAV; autonomous driving; self-driving; vision-language-action; VLA; "
            "sim-to-real; embodied; manipulator; legged; autonomous vehicle; robot navigation; "
            "visual navigation; motion planning; driving scenario"
        ),
        "abstract_keywords": _terms(
            "robot; robotic; humanoid; locomotion; grasping; robot manipulation; manipulation "
            "task; visuomotor; end-effector; autonomous driving; vision-language-action; "
            "sim-to-real"
        ),
    },
    "efficiency": {
        "title_keywords": _terms(
            "efficient inference; efficient training; efficient attention; quantization; "
            "quantized; model compression; KV cache; KV-cache; speculative decoding; sparse "
            "attention; linear attention; inference acceleration; token pruning; token "
            "compression; token merging; few-step; memory-efficient; low-bit; speedup; LLM "
            "serving; model serving; model pruning; structured pruning; network pruning; layer "
            "pruning; parameter-efficient; efficient fine-tuning; mixed precision; GPU kernel; "
            "FlashAttention; faster inference; accelerating inference"
        ),
        "abstract_keywords": _terms(
            "quantization; KV cache; speculative decoding; sparse attention; linear attention; "
            "inference cost; inference latency; inference efficiency; memory footprint; speedup; "
            "throughput; FLOPs; model compression; low-bit; few-step; computational cost; "
            "parameter-efficient; memory-efficient; GPU kernel; inference speed"
        ),
    },
    "benchmarks": {
        "title_keywords": _terms(
            "benchmark; benchmarking; leaderboard; evaluation; arena; evaluation dataset; "
            "evaluation metric"
        ),
        "abstract_keywords": _terms(
            "we introduce a benchmark; we present a benchmark; we propose a benchmark; new "
            "benchmark; novel benchmark; benchmark for evaluating; benchmark designed; benchmark "
            "comprising; benchmark consisting; evaluation framework; evaluation protocol; "
            "evaluation suite; evaluation methodology; leaderboard"
        ),
    },
    "science": {
        "arxiv_categories": SCIENCE_ARCHIVES,
        "title_keywords": _terms(
            "protein; molecule; molecular; drug; chemistry; chemical; materials; genomic; gene; "
            "single-cell; clinical; medical; medicine; patient; health; disease; pathology; "
            "radiology; EHR; EEG; ECG; fMRI; neuroscience; weather; climate; agriculture; "
            "biology; biomedical; scientific discovery; AI scientist; genomics; DNA; RNA; "
            "antibody; enzyme; crystal; MRI; X-ray; healthcare; hospital; surgical; surgery; "
            "cancer; tumor; endoscopy; ecology; geology; seismic; crop; scientific research; "
            "automated research"
        ),
        "abstract_keywords": _terms(
            "protein; molecule; molecular; drug discovery; chemistry; materials science; genomic; "
            "clinical; medical; patient; disease; biomedical; neuroscience; climate; weather "
            "forecasting; scientific discovery; healthcare; cancer; genomics; antibody; materials "
            "discovery; scientific research"
        ),
    },
    "speech": {
        "arxiv_categories": ["cs.SD", "eess.AS"],
        "title_keywords": _terms(
            "speech; audio; spoken; ASR; TTS; text-to-speech; speaker; voice conversion; voice "
            "cloning; music; acoustic"
        ),
        "abstract_keywords": _terms(
            "speech; audio; spoken; speech recognition; text-to-speech; speaker; music"
        ),
    },
    "safety": {
        # The physical safety of robots and vehicles is robotics.
        "unless_topics": ["robotics"],
        "title_keywords": _terms(
            "safety; AI safety; LLM safety; model safety; content safety; jailbreak; prompt "
            "injection; backdoor; adversarial attack; adversarial robustness; red teaming; "
            "red-teaming; harmful; toxic content; AI alignment; value alignment; safety "
            "alignment; human values; deception; deceptive; privacy; unlearning; membership "
            "inference; fairness; social bias; gender bias; guardrail; misuse; data poisoning; "
            "anonymization; privacy-preserving; honesty; AI governance; AI risk; human "
            "preferences; adversarial examples; malware; vulnerability detection; intrusion "
            "detection; phishing; cybersecurity"
        ),
        "abstract_keywords": _terms(
            "AI safety; safety alignment; jailbreak; prompt injection; backdoor; adversarial "
            "attack; red teaming; harmful content; harmful output; toxic content; value "
            "alignment; human values; privacy; unlearning; membership inference; fairness; social "
            "bias; guardrail; deceptive; privacy-preserving; anonymization; human preferences; "
            "malware; cybersecurity; adversarial robustness"
        ),
    },
}
