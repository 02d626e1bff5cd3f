"""The inbox's stylesheet: a small subset of the GOV.UK Design System's look (colours,
focus states, form controls), served from ``/assets/casewatch.css`` (the CSP allows only
same-origin styles)."""

STYLESHEET = """\
body{margin:0;font-family:arial,sans-serif;font-size:19px;line-height:1.32;color:#0b0c0c}
.skip-link{position:absolute;left:-9999px}
.skip-link:focus{position:static;display:block;padding:10px 15px;background:#fd0;color:#0b0c0c}
.visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;
  clip:rect(0 0 0 0);white-space:nowrap}
.header{background:#0b0c0c;border-bottom:10px solid #1d70b8;padding:10px 0;color:#fff}
.header-row{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center}
.header-link{color:#fff;font-weight:bold;font-size:24px;text-decoration:none}
.service-nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 20px;
  align-items:center;font-size:16px}
.service-nav a,.link-button{color:#fff}
.service-nav a,.service-nav .link-button{display:inline-block;padding:4px 0}
.link-button{background:none;border:0;padding:0;font:inherit;text-decoration:underline;
  cursor:pointer}
.width-container{max-width:960px;margin:0 15px}
@media (min-width:1020px){.width-container{margin:0 auto}}
main{padding:40px 0}
h1{font-size:36px;line-height:1.1;margin:0 0 30px}
h2{font-size:27px;margin:40px 0 20px}
h3{font-size:21px;margin:25px 0 15px}
.caption{display:block;color:#505a5f;font-size:19px;margin-bottom:5px}
a{color:#1d70b8}
a:visited{color:#4c2c92}
a:focus,.link-button:focus{outline:3px solid transparent;background:#fd0;color:#0b0c0c;
  box-shadow:0 -2px #fd0,0 4px #0b0c0c;text-decoration:none}
table{border-collapse:collapse;width:100%;margin-bottom:40px}
caption{text-align:left;font-weight:bold;font-size:24px;margin-bottom:15px}
th,td{text-align:left;vertical-align:top;padding:10px 20px 10px 0;
  border-bottom:1px solid #b1b4b6}
th.numeric,td.numeric{text-align:right}
.hint{display:block;color:#505a5f;font-size:16px}
.note{font-weight:bold}
.tag{display:inline-block;padding:2px 8px;font-size:16px;font-weight:bold}
.tag--breach{background:#f4cdc6;color:#2a0b06}
.tag--warning,.tag--escalated{background:#fcd6c3;color:#6e3619}
.tag--advisory,.tag--guidance,.tag--open{background:#bbd4ea;color:#0c2d4a}
.tag--exception{background:#e5e6e7;color:#0b0c0c}
.tag--acknowledged,.tag--resolved{background:#cce2d8;color:#005a30}
.tag--snoozed{background:#e5e6e7;color:#0b0c0c}
.summary-list{margin:0 0 30px;border-top:1px solid #b1b4b6}
.summary-list div{display:flex;border-bottom:1px solid #b1b4b6;padding:10px 0}
.summary-list dt{font-weight:bold;width:35%;margin:0}
.summary-list dd{margin:0;width:65%}
.form-group{margin-bottom:20px}
.filters{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-end;margin-bottom:30px}
.filters .form-group{margin:0}
.label{display:block;font-weight:bold;margin-bottom:5px}
.input,.select,.textarea{font:inherit;border:2px solid #0b0c0c;padding:5px;box-sizing:border-box}
.input{width:100%;max-width:20em}
.textarea{width:100%;min-height:4em}
.input:focus,.select:focus,.textarea:focus,.button:focus,.radio input:focus{
  outline:3px solid #fd0;outline-offset:0;box-shadow:inset 0 0 0 2px}
.radio{display:block;margin-bottom:10px}
.button{font:inherit;font-weight:bold;color:#fff;background:#00703c;border:0;
  box-shadow:0 2px 0 #002d18;padding:8px 10px;cursor:pointer}
.button--secondary{background:#f3f2f1;color:#0b0c0c;box-shadow:0 2px 0 #929191}
.button:focus{background:#fd0;color:#0b0c0c}
.action{border:1px solid #b1b4b6;padding:0 20px 20px;margin-bottom:30px}
.banner{border:5px solid #00703c;padding:15px 20px;margin-bottom:30px}
.error-summary{border:5px solid #d4351c;padding:15px 20px;margin-bottom:30px}
.error-summary h2{margin-top:0}
.timeline{list-style:none;padding:0;border-left:5px solid #1d70b8;margin-left:5px}
.timeline li{padding:0 0 15px 20px}
.body{margin:0 0 20px}
.summary h2{margin-top:0}
.summary-cards,.quick-links{list-style:none;margin:0 0 30px;padding:0;display:flex;
  flex-wrap:wrap;gap:10px}
.summary-cards li{flex:1 1 130px}
.summary-cards a{display:block;padding:10px;border:1px solid #b1b4b6;border-left:5px solid
  #1d70b8;text-decoration:none;height:100%;box-sizing:border-box}
.summary-cards a:hover .count{text-decoration:underline}
.count{display:block;font-size:30px;font-weight:bold;color:#0b0c0c}
.quick-links li{margin-right:20px}
.filters .search{flex:1 1 14em}
.filters .search .input{max-width:none}
.clear{margin-left:15px}
.select{max-width:100%}
.pagination ul{list-style:none;display:flex;flex-wrap:wrap;gap:5px;padding:0;margin:0 0 40px}
.pagination a{display:inline-block;padding:5px 10px;min-width:24px;text-align:center}
.pagination a.current{font-weight:bold;color:#0b0c0c;text-decoration:none;
  border:2px solid #0b0c0c}
main{overflow-wrap:break-word}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f2f1;padding:10px;font-size:16px}
@media (max-width:640px){
  h1{font-size:27px}
  table.responsive,table.responsive tbody,table.responsive tr,table.responsive td,
  table.responsive th[scope=row]{display:block;width:100%;box-sizing:border-box}
  table.responsive thead{position:absolute;width:1px;height:1px;overflow:hidden;
    clip:rect(0 0 0 0)}
  table.responsive tr{border:1px solid #b1b4b6;margin-bottom:15px;padding:5px 10px}
  table.responsive td,table.responsive th[scope=row]{border:0;padding:5px 0;
    text-align:left}
  table.responsive td[data-label]::before,table.responsive th[data-label]::before{
    content:attr(data-label);display:block;font-weight:bold;font-size:16px}
  .summary-list div{display:block}
  .summary-list dt,.summary-list dd{width:auto}
  .summary-cards li{flex:1 1 40%}
  .filters .form-group{flex:1 1 100%}
  .filters .select{width:100%}
}
"""
