"""View-models: each screen's state and behaviour as plain classes over the store and sync client.

No Flet here, no SQL and no HTTP of their own: tests drive these directly (tests/field_app/), and
the Flet views in `field_app.views` only draw them and forward taps.
"""

from field_app.state.app import AppViewModel, StatusLine
from field_app.state.base import Context, Screen
from field_app.state.businesses import (
    BusinessesScreen,
    BusinessForm,
    BusinessScreen,
    ChecklistScreen,
    ToCheckScreen,
)
from field_app.state.campaign import CampaignsScreen, MissedScreen
from field_app.state.forms import ResidentForm
from field_app.state.house import HouseScreen
from field_app.state.matters import MatterReportForm, MatterScreen, MattersScreen
from field_app.state.move import MoveScreen
from field_app.state.places import BuildingsScreen, GridsScreen, HousesScreen, UnitsScreen
from field_app.state.problems import SyncScreen
from field_app.state.resident import ResidentScreen
from field_app.state.search import SearchScreen
from field_app.state.setup import SetupScreen
from field_app.state.sync_service import SyncFailure, SyncService, SyncStatus
from field_app.state.visit import VisitScreen

__all__ = [
    "AppViewModel",
    "BuildingsScreen",
    "BusinessForm",
    "BusinessScreen",
    "BusinessesScreen",
    "CampaignsScreen",
    "ChecklistScreen",
    "Context",
    "GridsScreen",
    "HouseScreen",
    "HousesScreen",
    "MatterReportForm",
    "MatterScreen",
    "MattersScreen",
    "MissedScreen",
    "MoveScreen",
    "ResidentForm",
    "ResidentScreen",
    "Screen",
    "SearchScreen",
    "SetupScreen",
    "StatusLine",
    "SyncFailure",
    "SyncScreen",
    "SyncService",
    "SyncStatus",
    "ToCheckScreen",
    "UnitsScreen",
    "VisitScreen",
]
