"""The demo school's catalogue. Prices are integer fen, like everything that is money."""

from __future__ import annotations

from dataclasses import dataclass

SCHOOL = {"id": "school_demo", "zh-CN": "明德职业技术学院", "en": "Mingde Vocational School"}


@dataclass(frozen=True)
class Course:
    id: str
    names: dict[str, str]
    blurbs: dict[str, str]
    tuition: int
    weeks: int

    def name(self, lang: str) -> str:
        return self.names.get(lang, self.names["zh-CN"])

    def blurb(self, lang: str) -> str:
        return self.blurbs.get(lang, self.blurbs["zh-CN"])


COURSES = {
    c.id: c
    for c in (
        Course(
            "py-fullstack",
            {"zh-CN": "Python 全栈开发", "en": "Python Full-Stack Development"},
            {
                "zh-CN": "从 Web 基础到部署上线，16 周项目制学习，结业推荐就业。",
                "en": "From web basics to production deployments: 16 weeks of projects, with job referrals.",
            },
            1_000_000,
            16,
        ),
        Course(
            "ux-design",
            {"zh-CN": "UI/UX 设计实战", "en": "UI/UX Design in Practice"},
            {
                "zh-CN": "用户研究、交互原型与视觉设计，12 周完成作品集。",
                "en": "User research, interaction prototypes and visual design: a portfolio in 12 weeks.",
            },
            680_000,
            12,
        ),
        Course(
            "data-analysis",
            {"zh-CN": "商业数据分析", "en": "Business Data Analysis"},
            {
                "zh-CN": "SQL、Python 与可视化，20 周掌握数据分析全流程。",
                "en": "SQL, Python and visualisation: the whole analysis workflow in 20 weeks.",
            },
            1_280_000,
            20,
        ),
    )
}


def yuan(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"¥{whole:,}.{cents:02d}"
