"""Campaign scoring: schemes as data (``schemes/*.yaml``), a closed set of indicator kinds, the
scoring engine, the score input file, Monte Carlo rank intervals, and the league-table exports.

    from analysis.scoring import load_scheme, score
    result = score(units, load_scheme("competition-2011"), period="2016")
"""

from analysis.scoring.engine import ScoreResult, score
from analysis.scoring.inputs import ScoringInputError, read_units, validate_units
from analysis.scoring.kinds import ScoreWarning
from analysis.scoring.model import Scheme, available_schemes, load_scheme

__all__ = ["ScoreResult", "ScoreWarning", "Scheme", "ScoringInputError", "available_schemes", "load_scheme", "read_units", "score", "validate_units"]
