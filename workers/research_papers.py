"""What the stand-in research world publishes each simulated week: its papers and its lab's posts.

Every week brings different work: its own techniques and findings on the watched topics, and a few papers off
them. The week's first paper is the one its lab post and a Hub release cite, and the one revised the week after.
"""

from __future__ import annotations

from dataclasses import dataclass

ON_TOPIC = ("cs.CL", "cs.LG")


@dataclass(frozen=True)
class Paper:
    title: str
    abstract: str
    categories: tuple[str, ...] = ON_TOPIC


@dataclass(frozen=True)
class Week:
    papers: tuple[Paper, ...]
    post: tuple[str, str]  # the lab blog's title and text; ``{paper}`` is the first paper's abstract page
    news: str  # a lab news headline, with no text and no date


WEEKS = (
    Week(papers=(
        Paper("Adaptive Self-Consistency for Chain-of-Thought Reasoning",
              "Self-consistency samples many chain-of-thought reasoning paths and takes a majority vote at a fixed "
              "budget. We draw paths one at a time and stop once a Beta posterior over the leading answer is "
              "confident, so easy problems use two or three samples and hard ones up to forty. On math word "
              "problems this cuts test-time compute by 40% at equal accuracy."),
        Paper("Retrieval-Augmented Generation with Learned Passage Reranking",
              "Dense retrieval returns passages that share words with a question but not always the evidence it "
              "needs. A cross-encoder trained on distant labels from answer matches reranks the top 100 passages "
              "before the reader sees five. On multi-hop question answering, retrieval-augmented generation gains "
              "6.1 points of exact match over dense retrieval alone."),
        Paper("Cost-Aware Model Routing for LLM Serving",
              "A router trained on pairwise preferences predicts whether a small model's answer will match a large "
              "one's and sends each query to the cheapest model above a quality bar. On chat and coding traffic "
              "it halves inference cost while keeping 95% of the large model's win rate."),
        Paper("Orchestrating Multi-Agent Teams with Shared Blackboards",
              "Instead of passing messages along a fixed chain, agents collaborate through a shared blackboard of "
              "partial plans, tool results and open questions, and a controller picks the next agent to act from "
              "the board's state. On software and travel planning tasks this multi-agent orchestration solves 18% "
              "more tasks than a round-robin conversation, with fewer tokens.", ("cs.AI", "cs.MA")),
        Paper("LLM-as-a-Judge Evaluation Under Benchmark Contamination",
              "When test items leak into pretraining data, both the evaluated model and an LLM judge may have seen "
              "the reference answers. On contaminated and clean variants of four benchmarks, judges overrate "
              "contaminated answers by up to 12 points, inflating leaderboard scores; rewriting items with their "
              "meaning preserved removes most of the gap."),
        Paper("Phonon Transport in Twisted Bilayer Graphene",
              "Suspended Raman thermometry gives the in-plane thermal conductivity of bilayer graphene twisted "
              "from 0.5 to 8 degrees. Conductivity falls by a third near the magic angle, consistent with umklapp "
              "scattering enhanced by the moire superlattice.", ("cond-mat.mes-hall",)),
        Paper("A Survey of Bird Song Recognition",
              "We review acoustic features and classifiers for identifying bird species in field recordings, from "
              "spectral descriptors to convolutional networks on spectrograms, and discuss wind noise, overlapping "
              "calls and the scarcity of labelled recordings of tropical species.", ("q-bio.QM", "eess.AS")),
    ), news="Our new office in Lisbon", post=(
        "Fewer samples, same answers: adaptive self-consistency in our tutor",
        "Our math tutor now stops sampling chain-of-thought reasoning paths once they agree, the method of "
        "{paper}. Here is what that did to its bill.")),
    Week(papers=(
        Paper("Speculative Decoding with Draft Heads Trained on Serving Logs",
              "Speculative decoding speeds up a large model when a cheap draft agrees with it. Draft heads trained "
              "on a week of production prompts rather than web text raise the mean accepted length from 2.6 to "
              "4.1 tokens and throughput by 1.8x at identical output, with the largest gains on templated "
              "enterprise traffic, cutting latency for every tenant."),
        Paper("Item Response Theory for Cheaper LLM Benchmarks",
              "Running a full benchmark suite on every checkpoint is expensive. A two-parameter item response "
              "model fitted to 60 open models picks the 8% of items that carry most information about ability; "
              "scores on that subset predict full evaluation scores with a rank correlation of 0.97, and the "
              "fitted difficulties flag mislabelled items."),
        Paper("Process Reward Models from Monte Carlo Rollouts",
              "Outcome rewards say whether a solution is right, not where it went wrong. We label each step of a "
              "chain-of-thought with the share of rollouts from that step that reach the correct answer and train "
              "a process reward model on 400k such labels with no human annotation. Choosing among 64 samples "
              "with it lifts step-by-step reasoning accuracy on MATH from 52% to 61%."),
        Paper("Learning When to Delegate in Hierarchical Agent Teams",
              "A manager agent splits a task and delegates subtasks to workers with different tools, but fixed "
              "delegation rules over-split simple tasks. Trained with reinforcement learning to decide when to "
              "solve a subtask itself and whom to hand it to, the manager matches the best hand-written "
              "orchestration of web research and data analysis with 35% fewer agent calls.", ("cs.AI", "cs.MA")),
        Paper("Citation-Grounded Decoding for Retrieval-Augmented Generation",
              "Retrieval-augmented generation often cites passages that do not support the sentence before the "
              "citation. Constraining beam search so that a small entailment model must find each sentence "
              "supported by a cited passage raises citation precision on long-form question answering from 58% to "
              "84%, at a small cost in fluency."),
        Paper("Convective Overshoot in Red Giant Cores from Asteroseismology",
              "Period spacings of mixed oscillation modes in 3,400 red giants observed by Kepler constrain how far "
              "convective cores overshoot their formal boundary. Overshoot grows with stellar mass up to about two "
              "solar masses and then saturates, which shifts the inferred ages of such stars by up to 15%.",
              ("astro-ph.SR",)),
        Paper("Gut Microbiome Succession in Infants After Antibiotic Exposure",
              "Stool from 212 infants sequenced through their first year shows how the gut microbiome recovers "
              "after a course of antibiotics: Bifidobacterium returns within weeks, butyrate producers remain "
              "depleted at twelve months, and breastfeeding shortens the recovery.", ("q-bio.PE",)),
    ), news="Welcoming this year's research residents", post=(
        "Our drafts learned from our own traffic",
        "We retrained the draft heads behind our speculative decoding on our serving logs, following "
        "{paper}, and our chat latency fell by a third.")),
    Week(papers=(
        Paper("Latent Reasoning Tokens: Thinking Without Writing It Down",
              "Chain-of-thought reasoning spends many tokens on text nobody reads. A curriculum replaces spans of "
              "a model's written reasoning with a few continuous latent tokens until it reasons mostly in latent "
              "space. On logic puzzles and grade-school math it keeps 97% of chain-of-thought accuracy with five "
              "times fewer generated tokens, though its reasoning is harder to inspect."),
        Paper("Contract-Net Auctions for Tool-Using Agent Swarms",
              "An orchestrator announces each subtask, agents bid with their own estimates of cost and confidence, "
              "and the winner carries it out with its tools. Bids are calibrated against past outcomes, so "
              "overconfident agents lose work. With 32 agents on data pipeline jobs, auctions finish 27% sooner "
              "than a central planner and degrade gracefully when agents fail.", ("cs.AI", "cs.MA")),
        Paper("Knowing When Not to Retrieve: Adaptive Retrieval for Long-Tail Questions",
              "Retrieval helps with rare facts but can distract a model on popular ones it already knows. "
              "Retrieving only when the question's entities fall below a popularity threshold learned on held-out "
              "data beats both always and never retrieving on entity-centric question answering, while issuing "
              "45% fewer retrieval calls in retrieval-augmented generation."),
        Paper("Measuring Rater Disagreement in Arena-Style Evaluations",
              "Pairwise human preference evaluation treats disagreement as noise. Five raters reannotating 5,000 "
              "arena battles leave 30% of pairs with no majority, mostly on creative and open-ended prompts, and "
              "modelling the raters with a Bradley-Terry mixture reorders six of the top twenty leaderboard "
              "entries."),
        Paper("Two-Bit KV-Cache Quantisation for Long-Context Serving",
              "Long contexts make the key-value cache the main memory expense of serving. Quantising keys per "
              "channel and values per token to two bits, with a short full-precision window of recent tokens, "
              "loses under one point on long-context tasks, fits four times longer contexts per GPU and cuts "
              "inference cost per request by 40%."),
        Paper("Riblet Surfaces and Turbulent Skin Friction at High Reynolds Number",
              "Wind-tunnel measurements on riblet surfaces up to a friction Reynolds number of 10,000 show skin "
              "friction falls by 7% at the best spacing, less than experiments at low Reynolds number suggested, "
              "because riblets lose effect once the viscous sublayer thins below their height.",
              ("physics.flu-dyn",)),
    ), news="Join us at the December meetup", post=(
        "Reasoning in latent space",
        "Our small models now reason in a handful of latent tokens instead of long chains of thought, "
        "as described in {paper}; the release is on the Hub.")),
    Week(papers=(
        Paper("Entity Graphs Built on Demand for Graph-Based RAG",
              "Graph-based retrieval summarises a corpus into an entity graph up front, which is expensive for "
              "corpora that change daily. Extracting entities and relations only from the passages a question "
              "retrieves, and reasoning over that small graph, matches a precomputed graph on multi-hop news "
              "questions in retrieval-augmented generation at 3% of its indexing work."),
        Paper("Backtracking Teaches Small Models to Recover From Reasoning Errors",
              "Small models fine-tuned on clean chain-of-thought solutions rarely notice their own mistakes. "
              "Training traces that make an error, detect it and backtrack to the last sound step raise "
              "step-by-step reasoning accuracy on MATH by 9 points for a 1B model, which then backtracks on 38% "
              "of its own errors."),
        Paper("A Failure Taxonomy for Multi-Agent LLM Systems",
              "We annotate 1,600 traces from seven open-source multi-agent frameworks and group their failures "
              "into fourteen modes, from agents ignoring each other's output to unverified handoffs and premature "
              "termination. Most trace to orchestration design rather than model capability; explicit role "
              "contracts and a verifier agent remove a third of them.", ("cs.AI", "cs.MA")),
        Paper("Dynamic Benchmarks That Regenerate Their Own Items",
              "Static test sets saturate and leak. Regenerating items every month from templates with verified "
              "answers in arithmetic, logic puzzles and code tracing, calibrated to a fixed difficulty, keeps "
              "model rankings stable from month to month (Kendall tau 0.91), while scores on the public static "
              "benchmark drift up 9 points a year, a signature of contamination."),
        Paper("Confidence-Calibrated Model Cascades for Document Extraction",
              "Many production prompts pull fields out of documents, where a small model is usually right. "
              "Calibrating the small model's token probabilities into a confidence and escalating to a larger "
              "model only below a threshold set for a target error rate cuts inference cost by 62% and latency "
              "by half on invoices and contracts, at the large model's accuracy."),
        Paper("Dendritic Spikes Gate Plasticity in Hippocampal CA1 Neurons",
              "Two-photon glutamate uncaging in acute slices shows that local sodium spikes in oblique dendrites "
              "are necessary for long-term potentiation at nearby synapses, while blocking them leaves somatic "
              "firing intact: single neurons may store associations branch by branch.", ("q-bio.NC",)),
        Paper("Magnetar Giant Flares as a Source of Fast Radio Bursts",
              "A search of fourteen years of archival gamma-ray data for counterparts to 40 localised fast radio "
              "bursts finds two coincident with giant flares from extragalactic magnetars, supporting magnetars "
              "as the origin of at least some repeating bursts.", ("astro-ph.HE",)),
    ), news="We are hiring platform engineers", post=(
        "Graphs for questions, not for corpora",
        "Our support search now builds a small entity graph per question, the approach of {paper}, and "
        "stopped reindexing every night.")),
    Week(papers=(
        Paper("Learning to Route Between Open and Proprietary Models From Implicit Feedback",
              "Preference labels for training routers are scarce. A router learned from the implicit feedback of "
              "a deployed assistant (regenerations, edits, abandoned sessions), corrected for position and "
              "exposure bias, cuts inference cost by 38% at equal user satisfaction compared with one trained on "
              "public preferences, and adapts within a day when a provider changes prices."),
        Paper("How Much Thinking Is Enough? Learned Stopping for Reasoning Models",
              "Reasoning models often keep thinking after they have found the answer. A probe on hidden states "
              "that predicts when more chain-of-thought will not change the final answer ends the thinking phase "
              "there, saving 52% of reasoning tokens in math, science and coding with under one point of accuracy "
              "lost: test-time compute spent only where it helps."),
        Paper("Shared Memory Versus Message Passing for Long-Horizon Agent Collaboration",
              "Agents collaborate on week-long simulated projects either through a shared, versioned memory or by "
              "direct messages between pairs. Shared memory reduces duplicated work by 41% but needs locking to "
              "stop agents overwriting each other's plans; with optimistic locking, this multi-agent setup "
              "completes 22% more projects than message passing.", ("cs.AI", "cs.MA")),
        Paper("Late-Interaction Retrieval for Code Repositories",
              "Single-vector code search misses matches on identifiers and call structure. Late-interaction "
              "retrieval over token-level embeddings of functions, compressed to 20 bytes per token, feeds a "
              "retrieval-augmented generation loop for repository-level completion and gains 8 points of exact "
              "match over BM25 and single-vector dense retrieval.", ("cs.SE", "cs.IR")),
        Paper("Confidence Intervals for LLM Evaluations With Few Items",
              "Many reported gains are smaller than the noise of a 500-item benchmark. Comparing bootstrap, "
              "clustered and paired standard errors on 30 benchmarks shows that questions sharing a passage or a "
              "template must be clustered, or intervals are too narrow by up to 3x; half the published gains we "
              "re-examined fall inside the paired interval of this evaluation."),
        Paper("Drought Tolerance Loci in Wild Sorghum Populations",
              "Genome-wide association across 540 wild sorghum accessions from the Sahel identifies three loci "
              "linked to stay-green under drought, one near a dehydrin gene. Allele frequencies follow rainfall "
              "gradients, a sign of local adaptation that breeders could draw on.", ("q-bio.PE",)),
    ), news="Our annual transparency report", post=(
        "Routing by what users do, not what raters say",
        "Our assistant's router now learns from regenerations and edits, after {paper}; it moved a third of "
        "our traffic to open models without complaints.")),
    Week(papers=(
        Paper("Agents That Write Their Own Tools",
              "Agents with a fixed toolset stall on tasks their tools do not cover. An orchestrator agent that "
              "writes, tests and registers a new Python tool whenever a subtask repeats, and shares it with the "
              "team, grows a library of 140 functions over 300 data-wrangling tasks; multi-agent task success "
              "rises from 46% to 71%, and most new tools are reused by other agents.", ("cs.AI", "cs.MA")),
        Paper("Reinforcement Learning From Verifiable Rewards Without a Critic",
              "We train a 7B model on math and code problems rewarded by answer checkers and unit tests, "
              "estimating advantages from groups of sampled solutions instead of a learned critic. Its chains of "
              "thought grow longer and begin to verify their own steps unprompted, and pass@1 on competition "
              "math rises from 14% to 39% with reasoning that checks itself."),
        Paper("Retrieval-Augmented Generation Over Tables and Spreadsheets",
              "Text retrievers handle tables poorly because flattening loses row and column structure. Indexing "
              "cells with their header paths, retrieving sub-tables rather than whole tables and letting the "
              "generator cite cell coordinates improves open-domain table question answering by 11 points and "
              "shrinks the retrieved context by 70%.", ("cs.IR", "cs.CL")),
        Paper("Reproducible Evaluation of Web Agents With Recorded Sites",
              "Live websites change between runs, so web agent benchmarks are hard to reproduce. Recording 180 "
              "sites as deterministic snapshots with server-side state, we rerun three published agents: their "
              "scores vary by up to 14 points on the live sites but under one point on the snapshots, and two "
              "leaderboard rankings flip."),
        Paper("Prompt Caching Across Tenants Without Leaking Data",
              "Prefix caching cuts latency and inference cost when prompts share a long system prefix, but a "
              "cache shared across tenants opens a timing side channel. Sharing only prefixes marked public by a "
              "provenance tag, and partitioning the rest by tenant, keeps 85% of the throughput gain of a fully "
              "shared cache and closes the channel.", ("cs.CR", "cs.DC")),
        Paper("Quantum Spin Liquid Signatures in a Kagome Antiferromagnet",
              "Neutron scattering on single crystals of a copper kagome antiferromagnet shows a continuum of spin "
              "excitations and no magnetic order down to 50 millikelvin, and the specific heat is linear in "
              "temperature, pointing to a gapless spin liquid with a spinon Fermi surface.", ("cond-mat.str-el",)),
        Paper("Coral Bleaching Thresholds Under Repeated Marine Heatwaves",
              "Following 1,100 tagged colonies on the Great Barrier Reef through three marine heatwaves, corals "
              "that survived an earlier bleaching tolerate about one more degree heating week before bleaching "
              "again, a benefit that fades after four years.", ("q-bio.PE",)),
    ), news="Office hours move to Thursdays", post=(
        "Our agents build their own toolbox",
        "Since adopting the tool-writing orchestrator of {paper}, our data team's agents have written and "
        "shared over a hundred tools.")),
)


def week(number: int) -> Week:
    """The content of simulated week ``number`` (from 1); after the last, the weeks come round again."""
    return WEEKS[(number - 1) % len(WEEKS)]
