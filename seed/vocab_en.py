"""English (US) vocabulary for generated data: cities, company words, business phrases."""

from __future__ import annotations

# (state, city, short name, initials, area codes, ZIP prefix, streets)
CITIES = [
    ("WA", "Seattle", "Seattle", "sea", ["206"], "981", ["Pine Street", "1st Avenue", "Westlake Avenue", "Elliott Avenue",
                                                         "Mercer Street", "Boren Avenue"]),
    ("OR", "Portland", "Portland", "pdx", ["503", "971"], "972", ["SW Morrison Street", "NW 23rd Avenue", "Burnside Street",
                                                                  "SE Hawthorne Boulevard"]),
    ("CA", "San Francisco", "San Francisco", "sf", ["415", "628"], "941", ["Market Street", "Mission Street",
                                                                           "Valencia Street", "Howard Street"]),
    ("CA", "Los Angeles", "Los Angeles", "la", ["213", "310", "323"], "900", ["Wilshire Boulevard", "Sunset Boulevard",
                                                                              "Figueroa Street", "Olympic Boulevard"]),
    ("IL", "Chicago", "Chicago", "chi", ["312", "773"], "606", ["Michigan Avenue", "Wacker Drive", "Clark Street",
                                                                "Halsted Street"]),
    ("NY", "New York", "New York", "nyc", ["212", "646", "718"], "100", ["Broadway", "Lexington Avenue", "Park Avenue",
                                                                         "Hudson Street", "West 34th Street"]),
    ("MA", "Boston", "Boston", "bos", ["617", "857"], "021", ["Boylston Street", "Newbury Street", "Summer Street"]),
    ("TX", "Austin", "Austin", "atx", ["512", "737"], "787", ["Congress Avenue", "Lamar Boulevard", "6th Street"]),
    ("CO", "Denver", "Denver", "den", ["303", "720"], "802", ["Larimer Street", "Colfax Avenue", "Blake Street"]),
    ("GA", "Atlanta", "Atlanta", "atl", ["404", "678"], "303", ["Peachtree Street", "Piedmont Avenue", "Spring Street"]),
    ("MN", "Minneapolis", "Minneapolis", "msp", ["612"], "554", ["Nicollet Mall", "Hennepin Avenue", "Washington Avenue"]),
    ("AZ", "Phoenix", "Phoenix", "phx", ["602", "480"], "850", ["Camelback Road", "Central Avenue", "Indian School Road"]),
]
SUITES = ["Suite", "Floor", "Unit"]

BRANDS = ["Summit", "Harbor", "Evergreen", "Pinnacle", "Blue Ridge", "Riverside", "Cascade", "Northstar", "Keystone",
          "Silver Oak", "Lakeside", "Granite", "Redwood", "Beacon", "Meridian", "Golden Gate", "Highland", "Pioneer",
          "Crescent", "Liberty", "Heritage", "Maple Leaf", "Sterling", "Horizon", "Cedar Park", "Bayview", "Ironwood",
          "Clearwater", "Union Square", "Westfield", "Brookside", "Copperline", "Driftwood", "Fairmont", "Juniper",
          "Stonebridge", "Willow Creek", "Atlas", "Bluebird", "Sunrise"]

SEGMENTS = [
    ("manufacturing", ["Manufacturing", "Industries", "Precision Parts"]),
    ("retail", ["Markets", "Retail", "Stores"]),
    ("it", ["Software", "Technologies", "Systems"]),
    ("food", ["Foods", "Catering"]),
    ("logistics", ["Logistics", "Freight"]),
    ("healthcare", ["Health", "Medical Supply"]),
]
NAME_ENDINGS = ("Inc.", "LLC", "Co.", "Group", "Company", "Café", "Cafe", "Hotel", "Inn", "Market", "Bakery", "House", "Bar",
                "Shop", "Roasters")
SUFFIXES = ["LLC", "Inc.", "Co.", "Group", "LLC"]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com"]

CONTACT_ROLES = [
    ("Executive", "CEO"), ("Executive", "General Manager"), ("Purchasing", "Purchasing Director"),
    ("Purchasing", "Purchasing Manager"), ("Purchasing", "Buyer"), ("Operations", "Operations Manager"),
    ("Administration", "Office Manager"), ("Finance", "Controller"), ("Operations", "Operations Director"),
    ("Marketing", "Marketing Manager"), ("Facilities", "Facilities Manager"),
]
SENIOR = 3

LEAD_NOTES = {
    "web": ["Filled in the website form asking for {product} pricing and minimum order.",
            "Downloaded the {category} catalogue from our website."],
    "phone": ["Called in about {product}; wants a quote this week.", "Asked about {category} lead times and support."],
    "referral": ["Referred by {ref}; interested in {category}.", "A partner recommended us; plans to buy {product}."],
    "trade_show": ["Met at the trade show booth; liked {product}.", "Tried {product} at the show, wants an on-site demo."],
    "campaign": ["Joined our webinar and wants to know more about {category}.",
                 "Signed up through the campaign, asked about {product}."],
    "partner": ["Inquiry passed on by a distributor: needs {product}."],
    "advertisement": ["Saw our ad in a trade magazine and asked about {category}."],
    "other": ["Needs qualification."],
}
OPPORTUNITY_NAMES = ["{account} – {product} order", "{account} – {category}, annual supply", "{account} – {product}",
                     "{account} – {category} order", "{account} – {category}, phase {n}"]
NEXT_STEPS = ["Send the formal quote", "Schedule a product demo", "Confirm specifications", "Meet the buyer",
              "Send the draft contract", "Agree payment terms", "Invite to our showroom", "Ship samples"]
COMPETITOR_NOTES = ["Their quote is about {n}% lower", "Customer used them before", "They have a local service team",
                    "They promise faster delivery", "They offer longer payment terms"]
ACTIVITY_SUBJECTS = {
    "call": ["Follow-up call with {contact}", "Call {account} about their needs", "Discuss the quote with {contact}"],
    "meeting": ["{account} requirements meeting", "Contract terms with {contact}", "{opportunity} proposal review"],
    "visit": ["Visit {account}", "On-site visit to {contact}", "Site survey at {account}"],
    "demo": ["Demo {product} for {account}", "{product} product demo"],
    "task": ["Send the quote to {contact}", "Summarise the requirements of {account}", "Prepare the bid: {opportunity}",
             "Send the {product} brochure to {contact}", "Update the contacts at {account}",
             "Chase payment: {opportunity}"],
}
MEETING_PLACES = ["Our office", "Zoom", "Client office", "Microsoft Teams"]
ACCOUNT_NOTES = ["Long-standing customer, pays on time.", "Price-sensitive: stress value for money.",
                 "Cares about service and delivery times.", "Expanding this year; more purchasing expected.",
                 "Long decision process with several evaluators."]
GENERATED_COMPETITOR_WORDS = ["Trading", "Supply", "Industries", "Distributors"]
