"""Column and picklist aliases of the exports teachers already have (Salesforce, SuiteCRM/EspoCRM, HubSpot).

Data only. A header maps to a target: a field name of the record type, a part of a composed field
(`name:first`, `name:last`, `address:street`, `address:city`, `address:state`, `address:zip`,
`address:country`) or `ignore` (columns of the other system that have no place here: its ids, owner,
dates, opt-outs). Headers are compared after `importing._key` (case, spaces, `_` and `*` do not count),
so "LeadSource", "Lead Source" and "lead_source" are the same only when written as separate entries;
the API names of Data Loader style exports are listed explicitly.

Picklist values map by code table; a target code missing from the class's code table is skipped (an
instructor may have removed it), and the row then gets the usual "not one of" message.
"""

from __future__ import annotations

IGNORE = "ignore"

_SALESFORCE_PERSON = {
    "First Name": "name:first", "FirstName": "name:first",
    "Last Name": "name:last", "LastName": "name:last",
    "Full Name": "name", "Salutation": IGNORE,
    "Title": "title", "Email": "email", "Phone": "phone", "Mobile": "mobile", "Mobile Phone": "mobile",
    "MobilePhone": "mobile",
    "Street": "address:street", "Mailing Street": "address:street", "MailingStreet": "address:street",
    "City": "address:city", "Mailing City": "address:city", "MailingCity": "address:city",
    "State/Province": "address:state", "State": "address:state", "Mailing State/Province": "address:state",
    "MailingState": "address:state",
    "Zip/Postal Code": "address:zip", "Postal Code": "address:zip", "PostalCode": "address:zip",
    "Mailing Zip/Postal Code": "address:zip", "MailingPostalCode": "address:zip",
    "Country": "address:country", "Mailing Country": "address:country", "MailingCountry": "address:country",
    "Description": "description", "Lead Source": "source", "LeadSource": "source",
    "Lead ID": IGNORE, "Contact ID": IGNORE, "Account ID": IGNORE, "Id": IGNORE,
    "Lead Owner": IGNORE, "Contact Owner": IGNORE, "Owner Name": IGNORE, "OwnerId": IGNORE,
    "Created Date": IGNORE, "CreatedDate": IGNORE, "Created By": IGNORE, "Last Modified Date": IGNORE,
    "Last Modified By": IGNORE, "Last Activity": IGNORE, "Email Opt Out": IGNORE, "Do Not Call": IGNORE,
    "Fax Opt Out": IGNORE, "Unread By Owner": IGNORE, "Converted": IGNORE, "Converted Date": IGNORE,
    "Fax": IGNORE, "Currency": IGNORE, "Lead Currency": IGNORE,
}

_SALESFORCE = {
    "lead": {
        **_SALESFORCE_PERSON,
        "Company": "company", "Company / Account": "company", "Website": "website",
        "Lead Status": "status", "Status": "status", "Industry": "industry", "Rating": "rating",
        "No. of Employees": "employees", "NumberOfEmployees": "employees", "Employees": "employees",
        "Annual Revenue": "annual_revenue", "AnnualRevenue": "annual_revenue",
    },
    "contact": {
        **_SALESFORCE_PERSON,
        "Account Name": "account_id", "Department": "department", "Birthdate": "birthday",
        "Reports To": "reports_to_id",
    },
    "account": {
        "Account Name": "name", "Name": "name", "Type": "type", "Account Type": "type", "Industry": "industry",
        "Rating": "rating", "Phone": "phone", "Fax": "fax", "Website": "website",
        "Employees": "employees", "NumberOfEmployees": "employees", "Annual Revenue": "annual_revenue",
        "AnnualRevenue": "annual_revenue", "Account Source": "source", "AccountSource": "source",
        "Ownership": "ownership", "Parent Account": "parent_id", "Description": "description",
        "Billing Street": "billing_address:street", "BillingStreet": "billing_address:street",
        "Billing City": "billing_address:city", "BillingCity": "billing_address:city",
        "Billing State/Province": "billing_address:state", "BillingState": "billing_address:state",
        "Billing Zip/Postal Code": "billing_address:zip", "BillingPostalCode": "billing_address:zip",
        "Billing Country": "billing_address:country", "BillingCountry": "billing_address:country",
        "Shipping Street": "shipping_address:street", "Shipping City": "shipping_address:city",
        "Shipping State/Province": "shipping_address:state", "Shipping Zip/Postal Code": "shipping_address:zip",
        "Shipping Country": "shipping_address:country",
        "Account ID": IGNORE, "Account Owner": IGNORE, "Created Date": IGNORE, "Last Modified Date": IGNORE,
        "Last Activity": IGNORE, "Account Number": IGNORE, "Account Site": IGNORE,
    },
}

# SuiteCRM (SugarCRM CE) exports its field labels; EspoCRM exports field names (camelCase) or labels.
_SUITE_PERSON = {
    "First Name": "name:first", "firstName": "name:first", "Last Name": "name:last", "lastName": "name:last",
    "Name": "name", "Title": "title", "Department": "department", "Salutation": IGNORE,
    "Office Phone": "phone", "phoneNumber": "phone", "Phone Number": "phone", "Phone": "phone",
    "Mobile Phone": "mobile", "Mobile": "mobile", "phoneNumberMobile": "mobile",
    "Email Address": "email", "emailAddress": "email", "Email": "email", "Description": "description",
    "Primary Address Street": "address:street", "Primary Address City": "address:city",
    "Primary Address State": "address:state", "Primary Address Postal Code": "address:zip",
    "Primary Address Postalcode": "address:zip", "Primary Address Country": "address:country",
    "Address Street": "address:street", "addressStreet": "address:street",
    "Address City": "address:city", "addressCity": "address:city",
    "Address State": "address:state", "addressState": "address:state",
    "Address Postal Code": "address:zip", "addressPostalCode": "address:zip",
    "Address Country": "address:country", "addressCountry": "address:country",
    "Lead Source": "source", "Source": "source",
    "ID": IGNORE, "Date Created": IGNORE, "Date Modified": IGNORE, "Modified By ID": IGNORE,
    "Created By ID": IGNORE, "Deleted": IGNORE, "Assigned User ID": IGNORE, "Assigned User Name": IGNORE,
    "Assigned User": IGNORE, "assignedUserName": IGNORE, "createdAt": IGNORE, "modifiedAt": IGNORE,
    "Do Not Call": IGNORE, "Home Phone": IGNORE, "Other Phone": IGNORE, "Fax": IGNORE,
    "Lead Source Description": IGNORE, "Status Description": IGNORE, "Refered By": IGNORE,
    "Referred By": IGNORE, "Alt Address Street": IGNORE, "Alt Address City": IGNORE,
    "Alt Address State": IGNORE, "Alt Address Postal Code": IGNORE, "Alt Address Country": IGNORE,
}

_SUITE = {
    "lead": {
        **_SUITE_PERSON,
        "Account Name": "company", "accountName": "company", "Status": "status", "Industry": "industry",
        "Website": "website", "Opportunity Amount": IGNORE, "Converted": IGNORE, "Department": IGNORE,
    },
    "contact": {**_SUITE_PERSON, "Account Name": "account_id", "accountName": "account_id",
                "Birthdate": "birthday", "Reports To": "reports_to_id"},
    "account": {
        "Name": "name", "Type": "type", "Industry": "industry", "Annual Revenue": "annual_revenue",
        "Employees": "employees", "Office Phone": "phone", "Phone": "phone", "phoneNumber": "phone",
        "Fax": "fax", "Website": "website", "Email Address": "email", "emailAddress": "email",
        "Description": "description", "Ownership": "ownership", "Rating": "rating", "Member Of": "parent_id",
        "Billing Address Street": "billing_address:street", "Billing Address City": "billing_address:city",
        "Billing Address State": "billing_address:state",
        "Billing Address Postal Code": "billing_address:zip",
        "Billing Address Postalcode": "billing_address:zip", "Billing Address Country": "billing_address:country",
        "billingAddressStreet": "billing_address:street", "billingAddressCity": "billing_address:city",
        "billingAddressState": "billing_address:state", "billingAddressPostalCode": "billing_address:zip",
        "billingAddressCountry": "billing_address:country",
        "Shipping Address Street": "shipping_address:street", "Shipping Address City": "shipping_address:city",
        "Shipping Address State": "shipping_address:state",
        "Shipping Address Postal Code": "shipping_address:zip",
        "Shipping Address Country": "shipping_address:country",
        "ID": IGNORE, "Date Created": IGNORE, "Date Modified": IGNORE, "Assigned User Name": IGNORE,
        "Assigned User ID": IGNORE, "Deleted": IGNORE,
    },
}

_HUBSPOT_PERSON = {
    "First Name": "name:first", "Last Name": "name:last", "Email": "email", "Phone Number": "phone",
    "Mobile Phone Number": "mobile", "Job Title": "title", "Street Address": "address:street",
    "City": "address:city", "State/Region": "address:state", "Postal Code": "address:zip",
    "Country/Region": "address:country", "Original Source": "source", "Original Traffic Source": "source",
    "Record ID": IGNORE, "Contact ID": IGNORE, "Contact owner": IGNORE, "Create Date": IGNORE,
    "Last Activity Date": IGNORE, "Last Modified Date": IGNORE, "Lifecycle Stage": IGNORE,
    "Associated Company ID": IGNORE, "Associated Deals": IGNORE, "HubSpot Score": IGNORE,
    "Marketing contact status": IGNORE, "Email Domain": IGNORE, "Number of Associated Deals": IGNORE,
    "Total Revenue": IGNORE,
}

_HUBSPOT = {
    "lead": {
        **_HUBSPOT_PERSON, "Company Name": "company", "Lead Status": "status", "Website URL": "website",
        "Industry": "industry", "Annual Revenue": "annual_revenue", "Number of Employees": "employees",
    },
    "contact": {**_HUBSPOT_PERSON, "Company Name": "account_id", "Associated Company": "account_id",
                "Lead Status": IGNORE, "Date of birth": "birthday", "Department": "department"},
    "account": {
        "Company name": "name", "Name": "name", "Company Domain Name": "website", "Website URL": "website",
        "Industry": "industry", "Phone Number": "phone", "Type": "type", "Description": "description",
        "Number of Employees": "employees", "Annual Revenue": "annual_revenue",
        "Street Address": "billing_address:street", "City": "billing_address:city",
        "State/Region": "billing_address:state", "Postal Code": "billing_address:zip",
        "Country/Region": "billing_address:country", "Original Source": "source",
        "Record ID": IGNORE, "Company owner": IGNORE, "Create Date": IGNORE, "Last Activity Date": IGNORE,
        "Lifecycle Stage": IGNORE, "Parent Company": "parent_id", "Time Zone": IGNORE,
    },
}

# Source system -> record type -> header -> target. The first system listing a header wins.
HEADER_ALIASES: dict[str, dict[str, dict[str, str]]] = {
    "Salesforce": _SALESFORCE,
    "SuiteCRM/EspoCRM": _SUITE,
    "HubSpot": _HUBSPOT,
}

# Code table -> value as the other system writes it -> our code.
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "lead_status": {
        # Salesforce
        "Open - Not Contacted": "new", "Working - Contacted": "contacted",
        # A converted lead of another system has no account here yet: it arrives as qualified.
        "Closed - Converted": "qualified", "Closed - Not Converted": "unqualified",
        # SuiteCRM/EspoCRM
        "Assigned": "new", "In Process": "contacted", "Converted": "qualified", "Recycled": "unqualified",
        "Dead": "unqualified",
        # HubSpot
        "Open": "new", "In Progress": "contacted", "Attempted to Contact": "contacted", "Connected": "contacted",
        "Open Deal": "qualified", "Bad Timing": "unqualified",
    },
    "lead_source": {
        # Salesforce
        "Web": "web", "Phone Inquiry": "phone", "Partner Referral": "referral", "Employee Referral": "referral",
        "External Referral": "referral", "Word of mouth": "referral", "Purchased List": "other",
        "Seminar - Internal": "campaign", "Seminar - Partner": "partner", "Public Relations": "advertisement",
        # SuiteCRM/EspoCRM
        "Cold Call": "phone", "Call": "phone", "Existing Customer": "referral", "Self Generated": "other",
        "Employee": "referral", "Direct Mail": "campaign", "Conference": "trade_show", "Web Site": "web",
        "Email": "campaign",
        # HubSpot (Original Source)
        "Organic Search": "web", "Direct Traffic": "web", "Organic Social": "web", "Social Media": "web",
        "Paid Search": "advertisement", "Paid Social": "advertisement", "Email Marketing": "campaign",
        "Other Campaigns": "campaign", "Referrals": "referral", "AI Referrals": "referral",
        "Offline Sources": "other",
    },
    "industry": {
        "Agriculture": "food", "Apparel": "retail", "Banking": "finance", "Insurance": "finance",
        "Biotechnology": "healthcare", "Chemicals": "manufacturing", "Electronics": "manufacturing",
        "Engineering": "manufacturing", "Machinery": "manufacturing", "Communications": "it",
        "Technology": "it", "Telecommunications": "it", "Computer Software": "it",
        "Information Technology and Services": "it", "Food & Beverage": "food", "Hospitality": "other",
        "Shipping": "logistics", "Transportation": "logistics", "Utilities": "energy",
        "Not For Profit": "other", "Consulting": "other", "Construction": "other", "Media": "other",
        "Entertainment": "other", "Environmental": "other", "Recreation": "other",
    },
    "account_type": {
        "Customer - Direct": "customer", "Customer - Channel": "customer", "Channel Partner / Reseller": "reseller",
        "Installation Partner": "partner", "Technology Partner": "partner", "Analyst": "other", "Press": "other",
        "Competitor": "other", "Investor": "other", "Integrator": "partner", "Vendor": "other",
    },
    "rating": {"Active": "warm"},
}
