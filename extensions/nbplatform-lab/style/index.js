import './base.css';
import './features.css';
